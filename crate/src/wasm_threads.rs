//! The threaded CPU module's thread pool (feature `threads`): rayon's threads are Web Workers,
//! each instantiating this same module on the same shared memory (`wasm_threads.js`), then
//! running one rayon thread for good. burn-flex's kernels then share their work out through
//! rayon as they do natively. The engine's own thread (the page's worker) may block waiting on
//! them: it is a Worker, where waiting is allowed.

use std::sync::{Mutex, mpsc};

use js_sys::JsString;
use rayon::{ThreadBuilder, ThreadPoolBuilder};
use wasm_bindgen::prelude::*;

/// Where the workers pick up their rayon thread: one per worker, handed over through Rust
/// rather than `postMessage` because the sending thread blocks until every thread has started.
pub struct Pool {
    threads: Mutex<mpsc::Receiver<ThreadBuilder>>,
}

#[wasm_bindgen(module = "/src/wasm_threads.js")]
extern "C" {
    #[wasm_bindgen(js_name = startWorkers, catch)]
    async fn start_workers(module: JsValue, memory: JsValue, glue: JsString, pool: *const Pool, count: usize) -> Result<JsValue, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// This module's wasm-bindgen glue (`clip.js`): what each worker imports.
    #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
    static GLUE_URL: JsString;
}

/// `initThreadPool(n)`: start `n` workers and make them rayon's global pool. Once per module.
#[wasm_bindgen(js_name = initThreadPool)]
pub async fn init_thread_pool(threads: usize) -> Result<(), JsError> {
    if threads == 0 {
        return Err(JsError::new("the thread pool needs at least one thread"));
    }
    let (sender, receiver) = mpsc::channel();
    // Lives as long as the module: the workers hold its address.
    let pool: &'static Pool = Box::leak(Box::new(Pool { threads: Mutex::new(receiver) }));
    start_workers(wasm_bindgen::module(), wasm_bindgen::memory(), GLUE_URL.with(Clone::clone), pool, threads)
        .await
        .map_err(|e| JsError::new(&format!("the thread pool's workers did not start ({})", js_message(&e))))?;
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .spawn_handler(move |thread| sender.send(thread).map_err(|_| std::io::Error::other("a pool worker is gone")))
        .build_global()
        .map_err(|e| JsError::new(&format!("the thread pool could not start ({e})")))
}

/// Run in each pool worker, once its instance is ready: take a rayon thread and run it forever.
#[wasm_bindgen(js_name = runPoolThread)]
pub fn run_pool_thread(pool: *const Pool) {
    // SAFETY: `pool` is the leaked `Pool` that `init_thread_pool` handed to `startWorkers`,
    // which passes it to its own workers only.
    let pool = unsafe { &*pool };
    let thread = match pool.threads.lock() {
        Ok(threads) => threads.recv(),
        Err(_) => return,
    };
    if let Ok(thread) = thread {
        thread.run();
    }
}

/// Test hook (`?debug=hooks`): one pool thread panics while the engine's thread waits for all
/// of them, as a kernel bug on a pool thread would. Never returns; the page has to notice
/// (`wasm_threads.js` reports the failed thread) and restart the worker.
#[wasm_bindgen(js_name = debugPanicInPool)]
pub fn debug_panic_in_pool() {
    rayon::broadcast(|context| {
        if context.index() == 0 {
            panic!("a pool thread panicked (test hook)");
        }
    });
}

fn js_message(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_string())
}
