//! Jobs run on libtorch's own OpenMP team, for rhetor's kernels that run between libtorch's
//! operations ([`super::attention`]) when a batch has more than one libtorch thread (fp32).
//! Threads of our own would fight libtorch's OpenMP workers, which spin for a while after
//! each parallel region (spread over two threads of our own, the int8 passes once made a
//! whole run 1.11× slower); the team's own workers are the ones spinning, so handing them
//! the jobs costs almost nothing.
//!
//! libtorch's CPU build links GNU OpenMP (`libgomp`), already loaded with it; its entry point
//! for a parallel region, `GOMP_parallel`, is looked up once in the loaded libraries. Without
//! it (another OpenMP runtime, a static build), the jobs run one after another on the calling
//! thread, with the same results.

use std::ffi::{c_int, c_uint, c_void};
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

/// `void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags)`.
type ParallelFn = unsafe extern "C" fn(extern "C" fn(*mut c_void), *mut c_void, c_uint, c_uint);
/// `omp_get_thread_num` and `omp_get_num_threads`.
type TeamFn = unsafe extern "C" fn() -> c_int;

/// libgomp's entry points, when they are loaded.
struct Gomp {
    parallel: ParallelFn,
    thread_num: TeamFn,
    num_threads: TeamFn,
}

fn gomp() -> Option<&'static Gomp> {
    static GOMP: OnceLock<Option<Gomp>> = OnceLock::new();
    GOMP.get_or_init(|| {
        let find = |name: &std::ffi::CStr| {
            // SAFETY: dlsym with a NUL-terminated name; a null result is handled below.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        let (parallel, thread_num, num_threads) = (
            find(c"GOMP_parallel")?,
            find(c"omp_get_thread_num")?,
            find(c"omp_get_num_threads")?,
        );
        // SAFETY: the symbols are libgomp's, with these C signatures (libgomp's ABI).
        unsafe {
            Some(Gomp {
                parallel: std::mem::transmute::<*mut c_void, ParallelFn>(parallel),
                thread_num: std::mem::transmute::<*mut c_void, TeamFn>(thread_num),
                num_threads: std::mem::transmute::<*mut c_void, TeamFn>(num_threads),
            })
        }
    })
    .as_ref()
}

/// Splits `rows` rows into up to one contiguous range per thread of libtorch's team (fewer
/// when there are fewer than `min_rows` rows per range; never an empty range, unless `rows`
/// is 0, which gives one).
pub(crate) fn row_ranges(rows: usize, min_rows: usize) -> Vec<Range<usize>> {
    let threads = (tch::get_num_threads().max(1) as usize).min(rows / min_rows.max(1));
    let per = rows.div_ceil(threads.max(1)).max(1);
    let mut out: Vec<_> = (0..rows)
        .step_by(per)
        .map(|s| s..(s + per).min(rows))
        .collect();
    if out.is_empty() {
        out.push(0..0);
    }
    out
}

/// `data` cut into consecutive blocks of `width` elements per row of each range (the ranges
/// must be consecutive, from row 0, as [`row_ranges`] gives them).
pub(crate) fn split_rows<'a, T>(
    mut data: &'a mut [T],
    ranges: &[Range<usize>],
    width: usize,
) -> Vec<&'a mut [T]> {
    ranges
        .iter()
        .map(|r| {
            let (block, rest) = std::mem::take(&mut data).split_at_mut(r.len() * width);
            data = rest;
            block
        })
        .collect()
}

/// The jobs of one parallel region, shared by the team's threads.
struct Region<F> {
    jobs: Vec<Mutex<Option<F>>>,
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    gomp: &'static Gomp,
}

/// One team thread's share: jobs `t`, `t + team`, … (every job runs once, whatever size of
/// team libgomp gives).
extern "C" fn run_share<F: FnOnce() + Send>(data: *mut c_void) {
    // SAFETY: `data` is the `Region<F>` that `run` keeps alive until the region ends.
    let region = unsafe { &*(data as *const Region<F>) };
    // SAFETY: plain libgomp queries, inside the region.
    let (t, team) = unsafe { ((region.gomp.thread_num)(), (region.gomp.num_threads)()) };
    let (t, team) = (t.max(0) as usize, team.max(1) as usize);
    for job in region.jobs.iter().skip(t).step_by(team) {
        let job = job.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(job) = job {
            // A panic must not unwind into C: keep it and raise it on the calling thread.
            if let Err(p) = catch_unwind(AssertUnwindSafe(job)) {
                *region.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
            }
        }
    }
}

/// Runs every job, each on one thread of libtorch's OpenMP team (the calling thread is one
/// of them), and returns when all are done. A job's panic is raised again here.
pub(crate) fn run<F: FnOnce() + Send>(jobs: Vec<F>) {
    let gomp = match gomp() {
        Some(g) if jobs.len() > 1 => g,
        _ => return jobs.into_iter().for_each(|job| job()),
    };
    let region = Region {
        jobs: jobs.into_iter().map(|j| Mutex::new(Some(j))).collect(),
        panic: Mutex::new(None),
        gomp,
    };
    // The team's threads share `region` through a raw pointer: it must be `Sync`.
    fn shared_by_threads<T: Sync>(_: &T) {}
    shared_by_threads(&region);
    let data = &region as *const Region<F> as *mut c_void;
    // SAFETY: `run_share::<F>` reads `region` only until GOMP_parallel returns, which is
    // after every thread of the team has finished it.
    unsafe { (gomp.parallel)(run_share::<F>, data, region.jobs.len() as c_uint, 0) };
    if let Some(p) = region.panic.into_inner().unwrap_or_else(|e| e.into_inner()) {
        resume_unwind(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ranges_cover_every_row_once_in_order() {
        for rows in [0, 1, 5, 64, 1000] {
            let ranges = row_ranges(rows, 1);
            let flat: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(flat, (0..rows).collect::<Vec<_>>(), "{rows} rows");
            assert!(ranges.iter().all(|r| !r.is_empty()) || rows == 0);
        }
        assert_eq!(row_ranges(10, 8).len(), 1, "too few rows to split");
    }

    #[test]
    fn every_job_runs_once_and_writes_its_own_rows() {
        let mut data = vec![0usize; 3 * 1000];
        let ranges = row_ranges(1000, 1);
        let jobs: Vec<_> = (ranges.iter().cloned())
            .zip(split_rows(&mut data, &ranges, 3))
            .map(|(r, block)| {
                move || {
                    for (i, row) in r.zip(block.chunks_exact_mut(3)) {
                        row.iter_mut().for_each(|v| *v += i);
                    }
                }
            })
            .collect();
        run(jobs);
        assert!(data.chunks(3).enumerate().all(|(i, row)| row == [i, i, i]));
    }

    #[test]
    fn a_job_s_panic_reaches_the_caller() {
        let jobs: Vec<Box<dyn FnOnce() + Send>> =
            vec![Box::new(|| ()), Box::new(|| panic!("job failed"))];
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(jobs)));
        assert!(got.is_err());
    }
}
