-- Ids of applied events are forgotten after the dedup window
-- (AnalyticsStore::prune_applied), oldest first.
CREATE INDEX analytics_applied_at ON analytics_applied (applied_at);
