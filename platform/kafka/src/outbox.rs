//! A bounded queue of messages awaiting delivery, for synchronous pipelines.
//!
//! The parser runs on a plain thread; the outbox hands each message to the idempotent
//! producer and keeps its delivery future. When `max_in_flight` messages are
//! unacknowledged it waits for the oldest, so a slow broker slows the parser down
//! instead of growing memory. A delivery that fails after librdkafka's own retries is
//! an error for the caller: nothing is dropped silently.

use crate::Route;
use futures::FutureExt;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Why messages could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("delivery to {topic} failed: {error}")]
    Delivery { topic: String, error: KafkaError },
    #[error("the producer was dropped before delivery was confirmed")]
    Canceled,
    #[error("producing failed: {0}")]
    Kafka(#[from] KafkaError),
}

/// Messages in flight, in send order, each with the caller's tag.
pub struct Outbox<T> {
    producer: FutureProducer,
    in_flight: VecDeque<(T, &'static str, Instant, DeliveryFuture)>,
    max_in_flight: usize,
}

impl<T: Copy> Outbox<T> {
    pub fn new(producer: FutureProducer, max_in_flight: usize) -> Self {
        Self { producer, in_flight: VecDeque::with_capacity(max_in_flight.min(1 << 16)), max_in_flight }
    }

    /// Messages sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Queues one message along its route ([`crate::encode`]); `acked` is called with
    /// the tags of messages delivered meanwhile, in send order, and how long each took
    /// from send to acknowledgement.
    pub fn send(
        &mut self,
        route: &Route,
        payload: &[u8],
        tag: T,
        mut acked: impl FnMut(T, Duration),
    ) -> Result<(), OutboxError> {
        while self.in_flight.len() >= self.max_in_flight {
            self.wait_oldest(&mut acked)?;
        }
        let topic = route.topic;
        let mut record =
            FutureRecord::to(topic).key(route.key.as_str()).payload(payload).headers(route.headers.clone());
        loop {
            match self.producer.send_result(record) {
                Ok(future) => {
                    self.in_flight.push_back((tag, topic, Instant::now(), future));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    if self.in_flight.is_empty() {
                        self.producer.poll(Duration::from_millis(50));
                    } else {
                        self.wait_oldest(&mut acked)?;
                    }
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
        self.collect_ready(&mut acked)
    }

    /// Reports the deliveries that are already confirmed, without waiting.
    pub fn collect_ready(&mut self, acked: &mut impl FnMut(T, Duration)) -> Result<(), OutboxError> {
        while let Some((_, _, _, future)) = self.in_flight.front_mut() {
            match future.now_or_never() {
                None => break,
                Some(result) => {
                    let (tag, topic, sent, _) = self.in_flight.pop_front().expect("front exists");
                    check(topic, result)?;
                    acked(tag, sent.elapsed());
                }
            }
        }
        Ok(())
    }

    /// Waits until every message is delivered.
    pub fn flush(&mut self, mut acked: impl FnMut(T, Duration)) -> Result<(), OutboxError> {
        while !self.in_flight.is_empty() {
            self.wait_oldest(&mut acked)?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self, acked: &mut impl FnMut(T, Duration)) -> Result<(), OutboxError> {
        let (tag, topic, sent, future) = self.in_flight.pop_front().expect("caller checked");
        check(topic, futures::executor::block_on(future))?;
        acked(tag, sent.elapsed());
        Ok(())
    }
}

fn check(
    topic: &str,
    result: Result<
        rdkafka::producer::future_producer::OwnedDeliveryResult,
        futures::channel::oneshot::Canceled,
    >,
) -> Result<(), OutboxError> {
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((error, _message))) => Err(OutboxError::Delivery { topic: topic.to_string(), error }),
        Err(_) => Err(OutboxError::Canceled),
    }
}
