//! A stand-alone VRRP node for development and benchmarks: see `tests/vrrp_common/spec.rs`
//! for the arguments (`vrrp_node --instance 'name=VI_1,if=eth0,vrid=51,prio=100,vip=…'`).

#[path = "../tests/vrrp_common/spec.rs"]
mod spec;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = spec::run_node(&args, None).await {
        eprintln!("vrrp_node: {e}");
        std::process::exit(1);
    }
}
