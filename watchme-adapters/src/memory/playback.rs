//! `PlaybackRepo`, `DeviceGrantRepo`, `ImportJobRepo` and `WebhookRepo` in memory, under the store's one lock.

use async_trait::async_trait;
use time::OffsetDateTime;
use watchme_core::domain::{DeviceGrant, DeviceGrantState, MovieId, Playback, PlaybackState, UserCode, UserId};
use watchme_core::error::StorageError;
use watchme_core::ports::{DeviceGrantRepo, PlaybackRepo};

use super::store::MemoryStore;

#[async_trait]
impl PlaybackRepo for MemoryStore {
    async fn put_playback(&self, playback: &Playback) -> Result<(), StorageError> {
        self.lock()?.playbacks.insert((playback.user_id, playback.movie.id), playback.clone());
        Ok(())
    }

    async fn playbacks(&self, user: UserId, state: Option<PlaybackState>) -> Result<Vec<Playback>, StorageError> {
        let s = self.lock()?;
        let mut list: Vec<Playback> = s
            .playbacks
            .values()
            .filter(|p| p.user_id == user && state.is_none_or(|st| p.state == st))
            .cloned()
            .collect();
        list.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.movie.id.cmp(&b.movie.id)));
        Ok(list)
    }

    async fn remove_playback(
        &self,
        user: UserId,
        movie: MovieId,
        state: Option<PlaybackState>,
    ) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        let matches = s.playbacks.get(&(user, movie)).is_some_and(|p| state.is_none_or(|st| p.state == st));
        Ok(matches && s.playbacks.remove(&(user, movie)).is_some())
    }
}

#[async_trait]
impl DeviceGrantRepo for MemoryStore {
    async fn create_grant(&self, grant: &DeviceGrant) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        if s.device_grants.iter().any(|g| g.user_code == grant.user_code) {
            return Ok(false);
        }
        s.device_grants.push(grant.clone());
        Ok(true)
    }

    async fn poll_grant(&self, hash: &str, now: OffsetDateTime) -> Result<Option<DeviceGrant>, StorageError> {
        let mut s = self.lock()?;
        let Some(g) = s.device_grants.iter_mut().find(|g| g.device_code_hash == hash) else {
            return Ok(None);
        };
        let before = g.clone();
        g.last_polled_at = Some(now);
        Ok(Some(before))
    }

    async fn decide_grant(
        &self,
        code: &UserCode,
        user: UserId,
        approve: bool,
        now: OffsetDateTime,
    ) -> Result<Option<DeviceGrant>, StorageError> {
        let mut s = self.lock()?;
        let waiting = s
            .device_grants
            .iter_mut()
            .find(|g| &g.user_code == code && g.state == DeviceGrantState::Pending && g.expires_at > now);
        Ok(waiting.map(|g| {
            g.state = if approve { DeviceGrantState::Approved } else { DeviceGrantState::Denied };
            g.user_id = Some(user);
            g.clone()
        }))
    }

    async fn redeem_grant(&self, hash: &str) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        let approved =
            s.device_grants.iter_mut().find(|g| g.device_code_hash == hash && g.state == DeviceGrantState::Approved);
        Ok(approved.map(|g| g.state = DeviceGrantState::Used).is_some())
    }

    async fn prune_grants(&self, before: OffsetDateTime) -> Result<u64, StorageError> {
        let mut s = self.lock()?;
        let n = s.device_grants.len();
        s.device_grants.retain(|g| g.expires_at >= before);
        Ok((n - s.device_grants.len()) as u64)
    }
}

#[async_trait]
impl watchme_core::ports::ImportJobRepo for MemoryStore {
    async fn create_job(&self, job: &watchme_core::domain::ImportJob) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        let busy = s.import_jobs.iter().any(|j| j.user_id == job.user_id && unfinished(j.status));
        if !busy {
            s.import_jobs.push(job.clone());
        }
        Ok(!busy)
    }

    async fn save_job(&self, job: &watchme_core::domain::ImportJob) -> Result<(), StorageError> {
        let mut s = self.lock()?;
        if let Some(j) = s.import_jobs.iter_mut().find(|j| j.id == job.id) {
            *j = job.clone();
        }
        Ok(())
    }

    async fn job(
        &self,
        user: UserId,
        id: watchme_core::domain::ImportId,
    ) -> Result<Option<watchme_core::domain::ImportJob>, StorageError> {
        Ok(self.lock()?.import_jobs.iter().find(|j| j.id == id && j.user_id == user).cloned())
    }

    async fn jobs(&self, user: UserId, limit: u32) -> Result<Vec<watchme_core::domain::ImportJob>, StorageError> {
        let s = self.lock()?;
        let mut list: Vec<_> = s.import_jobs.iter().filter(|j| j.user_id == user).cloned().collect();
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        list.truncate(limit as usize);
        Ok(list)
    }

    async fn fail_unfinished(
        &self,
        reason: &str,
        at: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let mut s = self.lock()?;
        let mut n = 0;
        for j in s.import_jobs.iter_mut().filter(|j| unfinished(j.status) && j.updated_at < stale_before) {
            j.status = watchme_core::domain::ImportStatus::Failed;
            j.error = Some(reason.to_owned());
            j.finished_at = Some(at);
            n += 1;
        }
        Ok(n)
    }
}

fn unfinished(s: watchme_core::domain::ImportStatus) -> bool {
    matches!(s, watchme_core::domain::ImportStatus::Queued | watchme_core::domain::ImportStatus::Running)
}

#[async_trait]
impl watchme_core::ports::WebhookRepo for MemoryStore {
    async fn create_webhook(&self, webhook: &watchme_core::domain::Webhook, hash: &str) -> Result<(), StorageError> {
        self.lock()?.webhooks.push((hash.to_owned(), webhook.clone(), false));
        Ok(())
    }

    async fn webhook_by_hash(&self, hash: &str) -> Result<Option<watchme_core::domain::Webhook>, StorageError> {
        Ok(self.lock()?.webhooks.iter().find(|(h, _, revoked)| h == hash && !revoked).map(|(_, w, _)| w.clone()))
    }

    async fn webhooks_of(&self, user: UserId) -> Result<Vec<watchme_core::domain::Webhook>, StorageError> {
        let s = self.lock()?;
        let mut list: Vec<_> = s
            .webhooks
            .iter()
            .filter(|(_, w, revoked)| w.user_id == user && !revoked)
            .map(|(_, w, _)| w.clone())
            .collect();
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(list)
    }

    async fn revoke_webhook(
        &self,
        user: UserId,
        id: watchme_core::domain::WebhookId,
        _at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut s = self.lock()?;
        let found = s.webhooks.iter_mut().find(|(_, w, revoked)| w.id == id && w.user_id == user && !revoked);
        Ok(found.map(|(_, _, revoked)| *revoked = true).is_some())
    }

    async fn record_delivery(
        &self,
        id: watchme_core::domain::WebhookId,
        outcome: watchme_core::domain::DeliveryOutcome,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        use watchme_core::domain::DeliveryOutcome as O;
        let mut s = self.lock()?;
        if let Some((_, w, _)) = s.webhooks.iter_mut().find(|(_, w, _)| w.id == id) {
            match outcome {
                O::Accepted => w.accepted += 1,
                O::Ignored => w.ignored += 1,
                O::Refused => w.refused += 1,
            }
            w.last_delivery_at = Some(at);
        }
        Ok(())
    }
}
