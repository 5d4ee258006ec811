//! A few calls in flight at once: Moodle serves each request on one PHP worker, so a small
//! pool keeps its cores busy while one call waits on the database.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` over `jobs` on up to `threads` threads; results in the jobs' order.
pub fn map<T: Sync, R: Send>(jobs: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if jobs.len() <= 1 || threads <= 1 {
        return jobs.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let r = f(job);
                out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_jobs_order() {
        let jobs: Vec<u64> = (0..50).collect();
        let got = super::map(&jobs, 4, |j| {
            std::thread::sleep(std::time::Duration::from_millis(50 - *j));
            j * 2
        });
        assert_eq!(got, (0..50).map(|j| j * 2).collect::<Vec<_>>());
    }
}
