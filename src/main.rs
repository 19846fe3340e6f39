//! The `assist` binary: parse flags and environment, set up logging, build, run.

mod cli;

use clap::Parser;

/// glibc's allocator was a large share of the hot read's time; mimalloc's thread-local
/// free lists make the edge's many small, short-lived allocations cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    match cli.command.unwrap_or(cli::Command::Serve(Box::new(cli.serve))) {
        cli::Command::Serve(args) => {
            cli::init_logging(&args.log, args.log_format)?;
            let app = assist::App::build(args.config()?).await?;
            tracing::info!("listening on http://{}", app.http_addr());
            if args.demo {
                let page = assist::widget::demo_url(app.http_addr());
                let console = format!("{}/console", page.trim_end_matches("/demo"));
                println!("demo: open {page} to try the widget, and {console} to answer as the demo operator");
            }
            app.run_until_stopped(cli::shutdown_signal()).await?;
        }
        cli::Command::Tree(args) => args.run().await?,
    }
    Ok(())
}
