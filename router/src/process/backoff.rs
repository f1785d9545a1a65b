//! One back-off: a wait that doubles with each consecutive failure, from `min` to `max`, and
//! starts again after a success. The worker uses it after a spool fault (the disk is full or
//! failing), the supervisor before restarting a worker that died.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub const fn new(min: Duration, max: Duration) -> Backoff {
        assert!(min.as_nanos() > 0 && min.as_nanos() <= max.as_nanos());
        Backoff {
            min,
            max,
            failures: 0,
        }
    }

    /// Counts a failure; returns the wait before the next try.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.wait()
    }

    /// The wait the failures so far call for (zero after none).
    pub fn wait(&self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (self.failures - 1).min(20);
        self.min.saturating_mul(1 << doublings).min(self.max)
    }

    /// A success: the next failure waits `min` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(1000));
        let waits: Vec<_> = (0..6).map(|_| b.fail()).collect();
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        for _ in 0..100 {
            b.fail();
        }
        assert_eq!(b.wait(), ms(1000));
        b.reset();
        assert_eq!((b.wait(), b.fail()), (Duration::ZERO, ms(100)));
    }
}
