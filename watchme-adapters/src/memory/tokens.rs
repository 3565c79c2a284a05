//! `ApiTokenRepo` in memory, under the store's one lock with the outbox.

use async_trait::async_trait;
use time::OffsetDateTime;
use watchme_core::domain::{ApiToken, ApiTokenHash, ApiTokenId, EventEnvelope, UserId};
use watchme_core::error::StorageError;
use watchme_core::ports::ApiTokenRepo;

use super::store::MemoryStore;

#[async_trait]
impl ApiTokenRepo for MemoryStore {
    async fn create_token(
        &self,
        token: &ApiToken,
        hash: &ApiTokenHash,
        event: &EventEnvelope,
    ) -> Result<(), StorageError> {
        let mut s = self.lock()?;
        s.api_tokens.push((hash.clone(), token.clone()));
        s.push_events(std::slice::from_ref(event));
        Ok(())
    }

    async fn find_token(&self, hash: &ApiTokenHash) -> Result<Option<ApiToken>, StorageError> {
        Ok(self.lock()?.api_tokens.iter().find(|(h, _)| h == hash).map(|(_, t)| t.clone()))
    }

    async fn tokens_of(&self, user: UserId) -> Result<Vec<ApiToken>, StorageError> {
        let s = self.lock()?;
        let mut list: Vec<ApiToken> = s
            .api_tokens
            .iter()
            .map(|(_, t)| t)
            .filter(|t| t.user_id == user && t.revoked_at.is_none())
            .cloned()
            .collect();
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(list)
    }

    async fn revoke_token(
        &self,
        user: UserId,
        id: ApiTokenId,
        at: OffsetDateTime,
        event: &EventEnvelope,
    ) -> Result<bool, StorageError> {
        let mut guard = self.lock()?;
        let s = &mut *guard;
        let Some((_, token)) =
            s.api_tokens.iter_mut().find(|(_, t)| t.id == id && t.user_id == user && t.revoked_at.is_none())
        else {
            return Ok(false);
        };
        token.revoked_at = Some(at);
        s.push_events(std::slice::from_ref(event));
        Ok(true)
    }

    async fn token_used(&self, id: ApiTokenId, at: OffsetDateTime) -> Result<(), StorageError> {
        let mut s = self.lock()?;
        if let Some((_, t)) = s.api_tokens.iter_mut().find(|(_, t)| t.id == id) {
            t.last_used_at = Some(t.last_used_at.map_or(at, |u| u.max(at)));
        }
        Ok(())
    }
}
