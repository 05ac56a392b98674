//! Binaries and brokers run as child processes, for tests that kill them: a service stopped with
//! SIGKILL mid-flight, a broker taken away and brought back on the same port and data.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::OnceLock,
    time::Duration,
};

use tokio::process::{Child, Command};

/// The workspace's `target/debug/<name>`, built first if needed (once per test process).
/// Tests of one crate cannot name another crate's binary, so they ask cargo for it, with the
/// targets and features `cargo test --workspace` builds: after that (or `scripts/test`'s build
/// step) the call is a no-op, where `-p <name>` would resolve other features and rebuild and
/// relink the binary every time the two alternate. The broker (`mesh-broker`) is left out, as
/// those do: its features would be unified into every crate of the mesh.
pub fn workspace_binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cargo = std::process::Command::new(env!("CARGO"));
        // What cargo set for this test process only: build scripts that watch one of these
        // (ring watches CARGO_MANIFEST_DIR) would rerun and rebuild half the tree.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_BIN_")
                || matches!(
                    &*key,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                        | "OUT_DIR"
                )
            {
                cargo.env_remove(&*key);
            }
        }
        let status = cargo
            .args([
                "build",
                "--quiet",
                "--workspace",
                "--exclude",
                "mesh-broker",
                "--bins",
                "--tests",
            ])
            .current_dir(workspace_root())
            .status()
            .unwrap_or_else(|err| panic!("cannot run cargo to build the binaries: {err}"));
        assert!(status.success(), "building the workspace's binaries failed");
    });
    target_dir().join("debug").join(name)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("no free port: {err}"))
}

/// Waits until something accepts connections on `addr`.
pub async fn wait_for_port(addr: SocketAddr, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on {addr} after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A child process whose output goes to a log file, shown when a test fails.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `program` with `args` and `envs` on top of the test's environment.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        cwd: &Path,
    ) -> Self {
        let log = std::env::temp_dir().join(format!("mesh-{name}-{}.log", crate::unique_id()));
        let file = std::fs::File::create(&log).unwrap_or_else(|err| panic!("log file: {err}"));
        let stderr = file
            .try_clone()
            .unwrap_or_else(|err| panic!("log file: {err}"));
        let child = Command::new(program)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        Self {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no graceful anything, as a crash or the OOM killer would.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then waits for a graceful exit (SIGKILL after `grace`).
    pub async fn terminate(&mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            self.kill().await;
        }
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A tansu broker of a test's own, on its own port and data directory, for tests that stop the
/// broker (the shared one must keep serving the other tests).
pub struct Broker {
    pub port: u16,
    data: PathBuf,
    process: Option<Process>,
}

impl Broker {
    pub async fn start() -> Self {
        let data = std::env::temp_dir().join(format!("mesh-broker-{}", crate::unique_id()));
        std::fs::create_dir_all(&data).unwrap_or_else(|err| panic!("broker dir: {err}"));
        let mut broker = Self {
            port: free_port(),
            data,
            process: None,
        };
        broker.resume().await;
        broker
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker. Its data stays for [`Broker::resume`].
    pub async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
    }

    /// Starts it again on the same port and data.
    pub async fn resume(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let process = Process::start(
            "tansu",
            &tansu(),
            &[
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://data.db",
            ],
            &[],
            &self.data,
        );
        self.process = Some(process);
        wait_for_port(([127, 0, 0, 1], self.port).into(), Duration::from_secs(20)).await;
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // The child is killed on drop; its data goes with the test.
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The tansu binary: `TANSU_BIN`, else the workspace's own (`broker/`, built by `scripts/test`
/// or `cargo build -p mesh-broker`), else `tansu` on PATH.
fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return PathBuf::from(path);
    }
    let built = target_dir().join("debug").join("tansu");
    if built.is_file() {
        return built;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("tansu"))
                .find(|p| p.is_file())
        })
        .unwrap_or(built)
}
