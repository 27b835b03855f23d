//! The admin listener: HTTP for operators on a thread of its own, so a
//! scraper or a slow browser never costs an SMTP shard a cycle. A
//! single-threaded tokio runtime drives axum there; the shards never see it.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::bayes::BayesOwner;
use super::metrics::MetricsBoard;
use super::report::ReportPage;
use super::review;
use crate::quarantine::Quarantine;

/// How often the listener looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A bound admin listener, not yet serving.
pub struct AdminListener {
    listener: TcpListener,
}

impl AdminListener {
    /// Binds `addr` now, so a taken port fails the start with its address.
    pub fn bind(addr: SocketAddr) -> std::io::Result<AdminListener> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(AdminListener { listener })
    }

    /// The address bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `/metrics`, `/healthz` and `/report` (and `/bayes/*` with a
    /// classifier database, the quarantine's API and review page with a
    /// quarantine, and on its public listener the recipients' release
    /// links) on a new thread until `stop` is set.
    pub fn serve(
        self,
        board: Arc<MetricsBoard>,
        bayes: Option<Arc<BayesOwner>>,
        report: Arc<ReportPage>,
        quarantine: Option<(Arc<Quarantine>, Option<AdminListener>)>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<JoinHandle<()>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let mut app = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(healthz))
            .with_state(board);
        // Pages that name senders and clients, and the classifier a request
        // could poison: behind the admin token once a quarantine (and so a
        // token) exists; open otherwise, as /metrics.
        let mut operator = report.routes();
        if let Some(bayes) = bayes.clone() {
            operator = operator.merge(bayes.routes());
        }
        let mut public = None;
        match quarantine {
            Some((quarantine, public_listener)) => {
                app = app
                    .merge(review::routes(Arc::clone(&quarantine), bayes))
                    .merge(review::guarded(Arc::clone(&quarantine), operator));
                public = public_listener.map(|l| (l, review::public_routes(quarantine)));
            }
            None => app = app.merge(operator),
        }
        let listener = self.listener;
        std::thread::Builder::new()
            .name("ringwall-admin".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let admin = serve_until(listener, app, Arc::clone(&stop));
                    match public {
                        Some((public, routes)) => {
                            let public = serve_until(public.listener, routes, stop);
                            futures_lite::future::zip(admin, public).await;
                        }
                        None => admin.await,
                    }
                });
            })
    }
}

/// Serves `app` on `listener` (peers' addresses known to the handlers,
/// for the audit log) until `stop` is set.
async fn serve_until(listener: TcpListener, app: Router, stop: Arc<AtomicBool>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(error = %e, "admin listener unusable");
            return;
        }
    };
    let stopped = async move {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(STOP_POLL).await;
        }
    };
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, service)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::error!(error = %e, "admin listener failed");
    }
}

async fn metrics(State(board): State<Arc<MetricsBoard>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], board.render())
}

/// For load balancers and service monitors: answered while the process
/// serves (the shards stop accepting before this listener goes away).
async fn healthz() -> &'static str {
    "ok\n"
}
