//! `PlaybackRepo` and `DeviceGrantRepo` in memory, under the store's one lock.

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
