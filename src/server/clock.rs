//! The time every rule is judged against. The server runs on the system clock; tests run the
//! same server on a manual clock they move forward, to check expiry rules to the second.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// `None`: the system clock. `Some`: milliseconds since the epoch, set by hand.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that stands still at `start` until moved.
    pub fn manual(start: Timestamp) -> Self {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(start.as_millisecond()))),
        }
    }

    /// Now, in whole milliseconds (the precision the store keeps).
    pub fn now(&self) -> Timestamp {
        let ms = match &self.manual {
            Some(ms) => ms.load(Ordering::SeqCst),
            None => Timestamp::now().as_millisecond(),
        };
        Timestamp::from_millisecond(ms).expect("the clock is within jiff's range")
    }

    /// Moves a manual clock; panics on the system clock, which nobody may move.
    pub fn advance(&self, by: SignedDuration) {
        let ms = self
            .manual
            .as_ref()
            .expect("only a manual clock can be moved");
        ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}
