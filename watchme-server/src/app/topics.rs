//! The Kafka topics, created at start-up when configured (and retried in
//! the background while the broker does not answer).

use std::time::Duration;

use watchme_adapters::kafka::{ensure_topics, SetupError};

use super::error::StartError;
use crate::config::Config;

/// Creates the Kafka topics when Kafka is configured and topic creation is
/// on. A broker that refuses stops the start-up with its reason; one that
/// does not answer does not (events wait in the outbox meanwhile): creation
/// is retried in the background.
///
/// # Errors
/// [`StartError::Config`] when the broker refuses to create a topic.
pub async fn prepare_topics(config: &Config) -> Result<(), StartError> {
    let Some(kafka) = config.kafka.as_ref().filter(|k| k.create_topics) else {
        return Ok(());
    };
    match ensure_topics(&kafka.config).await {
        Ok(()) => Ok(()),
        Err(e @ SetupError::Refused { .. }) => Err(StartError::Config(e.to_string())),
        Err(e) => {
            tracing::warn!(error = %e, "Kafka unreachable at start-up; events wait in the outbox, topics will be created when it answers");
            let config = kafka.config.clone();
            tokio::spawn(async move {
                let mut failures = 0;
                loop {
                    failures += 1;
                    tokio::time::sleep(watchme_core::services::backoff(
                        Duration::from_secs(1),
                        Duration::from_secs(60),
                        failures,
                    ))
                    .await;
                    match ensure_topics(&config).await {
                        Ok(()) => break,
                        Err(e @ SetupError::Refused { .. }) => {
                            tracing::error!(error = %e, "Kafka refused to create the topics");
                            break;
                        }
                        Err(_) => {}
                    }
                }
            });
            Ok(())
        }
    }
}
