//! A bare axum JSON echo: the baseline `bench/verify.sh` measures verify against, on the same
//! machine in the same run (docs/design.md: verify throughput >= 50 % of this).

use axum::Json;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/echo",
        post(|Json(body): Json<serde_json::Value>| async move { Json(body) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
