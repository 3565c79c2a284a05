//! The [`EventBus`] contract: a published batch is delivered whole (every
//! event with its envelope as published: id, aggregate, trace context,
//! payload) with one aggregate's events in publishing order; and a bus that
//! cannot deliver fails within its timeout, never hangs. How a bus is read
//! back differs (a handler's record, a topic), so the caller passes a
//! [`Delivered`].

use std::time::{Duration, Instant};

use async_trait::async_trait;
use watchme_core::domain::{EventEnvelope, EventPayload, MovieId, TraceContext, UserId};
use watchme_core::ports::EventBus;

use super::meta;

/// Reads back what a bus delivered.
#[async_trait]
pub trait Delivered: Send + Sync {
    /// The first `n` events delivered since the bus was made, in the order
    /// a consumer saw them; waits for them (and panics after a deadline).
    async fn delivered(&self, n: usize) -> Vec<EventEnvelope>;
}

/// A published batch arrives whole, each event as published, one user's
/// events in order.
pub async fn event_bus_delivers(bus: &dyn EventBus, delivered: &dyn Delivered) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let viewed = |movie, user: Option<UserId>| {
        let payload = EventPayload::MovieViewed {
            movie_id: MovieId::new(movie).expect("id"),
            title: format!("Movie {movie}"),
            user_id: user,
        };
        EventEnvelope::new(payload, &meta(user, movie))
    };
    let mut first = viewed(550, Some(ada));
    first.trace_context = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Some("k=v"));
    let events = vec![
        first,
        viewed(13, None),
        viewed(603, Some(bob)),
        EventEnvelope::new(EventPayload::UserLoggedIn { user_id: ada }, &meta(Some(ada), 700)),
    ];
    bus.publish(&events).await.expect("publish");
    let got = delivered.delivered(events.len()).await;
    for ev in &events {
        let copy = got.iter().find(|g| g.event_id == ev.event_id).expect("every event is delivered");
        assert_eq!(copy, ev, "delivered as published");
    }
    let position = |e: &EventEnvelope| got.iter().position(|g| g.event_id == e.event_id);
    assert!(position(&events[0]) < position(&events[3]), "one user's events keep their order");
}

/// A bus that cannot deliver fails the publish within `limit`.
pub async fn event_bus_that_cannot_deliver_fails_in_time(bus: &dyn EventBus, limit: Duration) {
    let event = EventEnvelope::new(EventPayload::UserLoggedIn { user_id: UserId::new() }, &meta(None, 0));
    let started = Instant::now();
    assert!(bus.publish(&[event]).await.is_err(), "an undeliverable batch is an error");
    assert!(started.elapsed() < limit, "within {limit:?}, took {:?}", started.elapsed());
}
