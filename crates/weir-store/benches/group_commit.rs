//! What group commit buys on SQLite with `synchronous=FULL`: the same number of account
//! inserts, awaited one at a time (the baseline: one fsync each) and then with many in
//! flight (writes that arrive together share a commit and its fsync).
//!
//! `cargo bench -p weir-store --bench group_commit` prints writes per second for both and
//! their ratio; the ratio is what to compare across machines.

use std::sync::Arc;
use std::time::Instant;

use weir_core::{Account, AccountId, Departments, Domain, Product, Region};
use weir_store::{SqliteStore, Store};
use weir_testkit::TempDir;

const WRITES: usize = 2_000;
const IN_FLIGHT: usize = 64;

fn account(n: usize) -> Account {
    Account {
        id: AccountId::parse(&format!("bench-{n:06}")).unwrap(),
        domain: Domain::parse("acme.freshsales.io").unwrap(),
        region: Region::US,
        product: Product::parse("freshsales").unwrap(),
        departments: Departments::parse(vec!["sales".into(), "support".into()]).unwrap(),
        created_at: weir_core::now(),
        updated_at: weir_core::now(),
    }
}

async fn one_at_a_time(store: &Arc<SqliteStore>) -> f64 {
    let started = Instant::now();
    for n in 0..WRITES {
        store.insert_account(&account(n)).await.unwrap();
    }
    WRITES as f64 / started.elapsed().as_secs_f64()
}

async fn many_in_flight(store: &Arc<SqliteStore>) -> f64 {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in WRITES..2 * WRITES {
        if tasks.len() == IN_FLIGHT {
            tasks.join_next().await.unwrap().unwrap();
        }
        let store = store.clone();
        tasks.spawn(async move { store.insert_account(&account(n)).await.unwrap() });
    }
    tasks.join_all().await;
    WRITES as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = TempDir::new();
        let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let baseline = one_at_a_time(&store).await;
        let grouped = many_in_flight(&store).await;
        println!("SQLite, synchronous=FULL, {WRITES} account inserts each:");
        println!("  one at a time:        {baseline:>9.0} writes/s (baseline)");
        println!("  {IN_FLIGHT} in flight:          {grouped:>9.0} writes/s");
        println!("  ratio:                {:>9.1}x", grouped / baseline);
        println!(
            "  hardware: {} logical CPUs; temp dir {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            std::env::temp_dir().display()
        );
    });
}
