//! Limits held together by several replicas of a service behind one load balancer.
//! Replicas share no memory, so each enforces its share of every per-guild and per-key
//! limit: with requests spread over them, together they hold the limit. (A client that
//! reaches only one replica gets that replica's share: the price of holding a limit
//! without a shared counter.)

/// One replica's share of a limit that `replicas` replicas hold together: the limit
/// divided by them, never below one.
pub fn share(limit: u64, replicas: u32) -> u64 {
    (limit / u64::from(replicas.max(1))).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_replica_holds_its_share_never_below_one() {
        assert_eq!(share(12, 1), 12);
        assert_eq!(share(12, 2), 6);
        assert_eq!(share(5, 2), 2);
        assert_eq!(share(1, 3), 1);
        assert_eq!(share(7, 0), 7, "no replicas reads as one");
    }
}
