//! Values kept per (topic, partition) by the group loop.

use std::collections::{HashMap, HashSet};

/// A (topic, partition) pair.
pub type TopicPartition = (String, i32);

/// A value per (topic, partition), read and written with a borrowed topic name: the
/// group loop touches it for every record, so only a topic's first entry allocates.
#[derive(Debug)]
pub struct PerPartition<V>(HashMap<String, HashMap<i32, V>>);

impl<V> Default for PerPartition<V> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<V: Copy> PerPartition<V> {
    pub fn insert(&mut self, topic: &str, partition: i32, value: V) {
        match self.0.get_mut(topic) {
            Some(partitions) => {
                partitions.insert(partition, value);
            }
            None => {
                self.0.entry(topic.to_string()).or_default().insert(partition, value);
            }
        }
    }

    /// Keeps the entries of the (topic, partition) pairs in `keep`.
    pub fn retain(&mut self, keep: &HashSet<TopicPartition>) {
        for (topic, partitions) in &mut self.0 {
            partitions.retain(|partition, _| keep.contains(&(topic.clone(), *partition)));
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, i32, V)> {
        self.0
            .iter()
            .flat_map(|(topic, partitions)| partitions.iter().map(move |(p, v)| (topic.as_str(), *p, *v)))
    }
}
