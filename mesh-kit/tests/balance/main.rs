//! The balancer against real tonic servers on 127.0.0.1: dead, NOT_SERVING and failing
//! endpoints are taken out and come back, reads are retried elsewhere and writes never are, a
//! backend with nothing left fails fast, DNS names resolve and follow changes, deadlines travel.

mod support;
mod tls;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use mesh_kit::balance::{
    BalanceConfig, Balancer, EndpointState, Resolver,
    metrics::{
        BACKEND_CIRCUIT_OPEN, BACKEND_RETRIES, ENDPOINT_EJECTIONS, ENDPOINT_HEALTHY,
        ENDPOINT_READMISSIONS,
    },
};
use mesh_proto::menu::v1 as pb;
use support::{
    Replica, WAIT, backend, client, config, dead_addr, read, read_status, recorded, state_of,
    wait_for_state, write,
};
use tonic::Code;

/// Health checks so rare that none runs during the test after the first: failures alone decide.
const NO_PERIODIC_CHECKS: u64 = 600_000;

#[tokio::test]
async fn a_dead_endpoint_is_ejected_after_its_failures_and_reads_go_to_the_live_one() {
    let metrics = recorded();
    let name = backend("dead");
    let mut a = Replica::start("a").await;
    let b = Replica::start("b").await;
    let balancer =
        Balancer::new(&name, &[a.url(), b.url()], config(NO_PERIODIC_CHECKS)).expect("balancer");
    let mut client = client(&balancer);
    wait_for_state(&balancer, a.addr, |s| s == EndpointState::Serving).await;
    wait_for_state(&balancer, b.addr, |s| s == EndpointState::Serving).await;

    a.kill().await;
    let mut reads = 0;
    while state_of(&balancer, a.addr) != Some(EndpointState::Ejected) {
        assert!(reads < 500, "a dead endpoint is ejected");
        assert_eq!(
            read(&mut client).await.as_deref(),
            Ok("b"),
            "every read succeeds"
        );
        reads += 1;
    }
    // Each failure cost one retry; the third failure ejected it.
    let a_label = a.addr.to_string();
    let endpoint = [("backend", name.as_str()), ("endpoint", a_label.as_str())];
    assert_eq!(metrics.counter(BACKEND_RETRIES, &[("backend", &name)]), 3);
    assert_eq!(
        metrics.counter(
            ENDPOINT_EJECTIONS,
            &[
                ("backend", &name),
                ("endpoint", &a_label),
                ("reason", "failures")
            ]
        ),
        1
    );
    assert_eq!(metrics.gauge(ENDPOINT_HEALTHY, &endpoint), Some(0.0));

    for _ in 0..20 {
        assert_eq!(read(&mut client).await.as_deref(), Ok("b"));
    }
    assert_eq!(
        metrics.counter(BACKEND_RETRIES, &[("backend", &name)]),
        3,
        "an ejected endpoint gets no more calls"
    );
}

#[tokio::test]
async fn a_not_serving_endpoint_is_skipped_and_readmitted_when_it_serves_again() {
    let metrics = recorded();
    let name = backend("not-serving");
    let a = Replica::start("a").await;
    let b = Replica::start("b").await;
    a.set_serving(false).await;
    let balancer = Balancer::new(&name, &[a.url(), b.url()], config(100)).expect("balancer");
    let mut client = client(&balancer);
    wait_for_state(&balancer, a.addr, |s| s == EndpointState::NotServing).await;

    for _ in 0..20 {
        assert_eq!(read(&mut client).await.as_deref(), Ok("b"));
    }
    assert_eq!(
        a.behaviour.reads.load(std::sync::atomic::Ordering::SeqCst),
        0
    );

    a.set_serving(true).await;
    wait_for_state(&balancer, a.addr, |s| s == EndpointState::Serving).await;
    let mut answered_by_a = false;
    for _ in 0..100 {
        if read(&mut client).await.as_deref() == Ok("a") {
            answered_by_a = true;
            break;
        }
    }
    assert!(answered_by_a, "a readmitted endpoint gets calls again");
    let a_label = a.addr.to_string();
    assert_eq!(
        metrics.counter(
            ENDPOINT_READMISSIONS,
            &[("backend", &name), ("endpoint", &a_label)]
        ),
        1
    );
}

#[tokio::test]
async fn a_dead_endpoint_comes_back_once_it_serves_again() {
    let mut a = Replica::start("a").await;
    let b = Replica::start("b").await;
    let balancer =
        Balancer::new(&backend("restart"), &[a.url(), b.url()], config(100)).expect("balancer");
    let mut client = client(&balancer);
    wait_for_state(&balancer, a.addr, |s| s == EndpointState::Serving).await;

    a.kill().await;
    wait_for_state(&balancer, a.addr, |s| !s.is_available()).await;
    for _ in 0..10 {
        assert_eq!(read(&mut client).await.as_deref(), Ok("b"));
    }

    a.restart().await;
    wait_for_state(&balancer, a.addr, |s| s == EndpointState::Serving).await;
    mesh_testkit::eventually("a to answer again", WAIT, || {
        let mut client = client.clone();
        async move { (read(&mut client).await.as_deref() == Ok("a")).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn unavailable_answers_eject_an_endpoint_that_a_serving_check_readmits() {
    let metrics = recorded();
    let name = backend("unavailable");
    let a = Replica::start("a").await;
    let b = Replica::start("b").await;
    a.behaviour
        .unavailable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let balancer =
        Balancer::new(&name, &[a.url(), b.url()], config(NO_PERIODIC_CHECKS)).expect("balancer");
    let mut client = client(&balancer);
    wait_for_state(&balancer, a.addr, |s| s == EndpointState::Serving).await;

    let mut reads = 0;
    while state_of(&balancer, a.addr) != Some(EndpointState::Ejected) {
        assert!(reads < 500, "failing endpoint is ejected");
        assert_eq!(read(&mut client).await.as_deref(), Ok("b"), "retried on b");
        reads += 1;
    }
    assert_eq!(
        a.behaviour.reads.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    assert_eq!(metrics.counter(BACKEND_RETRIES, &[("backend", &name)]), 3);

    // Its health check still says SERVING: the next one readmits it.
    let states = balancer.check(Duration::from_secs(1)).await;
    let a_state = states.iter().find(|s| s.addr == a.addr).map(|s| s.state);
    assert_eq!(a_state, Some(EndpointState::Serving));
    let a_label = a.addr.to_string();
    assert_eq!(
        metrics.counter(
            ENDPOINT_READMISSIONS,
            &[("backend", &name), ("endpoint", &a_label)]
        ),
        1
    );
}

#[tokio::test]
async fn a_read_is_retried_on_the_other_endpoint_and_a_write_is_not() {
    let metrics = recorded();
    let name = backend("writes");
    let a = Replica::start("a").await;
    let b = Replica::start("b").await;
    a.behaviour
        .unavailable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // Never ejected, so `a` keeps being chosen and every call to it shows what happens.
    let settings = BalanceConfig {
        eject_after: 0,
        ..config(NO_PERIODIC_CHECKS)
    };
    let balancer = Balancer::new(&name, &[a.url(), b.url()], settings).expect("balancer");
    let mut client = client(&balancer);

    for _ in 0..20 {
        assert_eq!(read(&mut client).await.as_deref(), Ok("b"));
    }
    let a_reads = a.behaviour.reads.load(std::sync::atomic::Ordering::SeqCst);
    assert!(a_reads > 0, "some reads went to a first");
    assert_eq!(
        metrics.counter(BACKEND_RETRIES, &[("backend", &name)]),
        a_reads as u64
    );

    let mut failed = 0;
    for _ in 0..40 {
        match write(&mut client).await {
            Ok(replica) => assert_eq!(replica, "b"),
            Err(code) => {
                assert_eq!(code, Code::Unavailable);
                failed += 1;
            }
        }
    }
    let a_writes = a.behaviour.writes.load(std::sync::atomic::Ordering::SeqCst);
    let b_writes = b.behaviour.writes.load(std::sync::atomic::Ordering::SeqCst);
    assert!(failed > 0, "some writes went to a");
    assert_eq!(
        failed, a_writes,
        "every write to a failed, none went on to b"
    );
    assert_eq!(a_writes + b_writes, 40, "each write was sent once");
    assert_eq!(
        metrics.counter(BACKEND_RETRIES, &[("backend", &name)]),
        a_reads as u64,
        "writes add no retries"
    );
}

#[tokio::test]
async fn with_every_endpoint_down_calls_fail_at_once_with_unavailable() {
    let metrics = recorded();
    let name = backend("all-down");
    let (x, y) = (dead_addr(), dead_addr());
    let balancer = Balancer::new(
        &name,
        &[format!("http://{x}"), format!("http://{y}")],
        config(100),
    )
    .expect("balancer");
    wait_for_state(&balancer, x, |s| s == EndpointState::Unreachable).await;
    wait_for_state(&balancer, y, |s| s == EndpointState::Unreachable).await;
    assert!(balancer.is_circuit_open());

    let mut client = client(&balancer);
    for call in 0..5 {
        let started = Instant::now();
        let status = read_status(&mut client).await.expect_err("nothing to call");
        let took = started.elapsed();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.message().contains("circuit open"), "{status:?}");
        // The connect timeout is 500 ms; an answer well under it did not try to connect.
        assert!(
            took < Duration::from_millis(200),
            "call {call} took {took:?}"
        );
    }
    assert_eq!(
        metrics.counter(BACKEND_CIRCUIT_OPEN, &[("backend", &name)]),
        1
    );
}

#[tokio::test]
async fn a_backend_that_comes_back_is_used_on_the_next_call_not_a_health_interval_later() {
    let mut a = Replica::start("a").await;
    let balancer = Balancer::new(
        &backend("half-open"),
        &[a.url()],
        config(NO_PERIODIC_CHECKS),
    )
    .expect("balancer");
    let mut client = client(&balancer);
    assert_eq!(read(&mut client).await.as_deref(), Ok("a"));

    a.kill().await;
    balancer.check(Duration::from_secs(1)).await;
    assert!(balancer.is_circuit_open());
    assert_eq!(read(&mut client).await, Err(Code::Unavailable));

    a.restart().await;
    // Past the spacing of half-open rounds, far below the (ten-minute) health interval.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(read(&mut client).await.as_deref(), Ok("a"));
    assert!(!balancer.is_circuit_open());
}

#[tokio::test]
async fn a_dns_name_resolves_to_its_addresses() {
    let a = Replica::start("a").await;
    let url = format!("http://localhost:{}", a.addr.port());
    let balancer = Balancer::new(&backend("localhost"), &[url], config(100)).expect("balancer");
    let mut client = client(&balancer);
    assert_eq!(read(&mut client).await.as_deref(), Ok("a"));
    assert!(
        balancer.endpoints().iter().any(|s| s.addr == a.addr),
        "{:?}",
        balancer.endpoints()
    );
}

#[tokio::test]
async fn endpoints_follow_dns_as_addresses_come_and_go() {
    let a = Replica::start("a").await;
    let b = Replica::start("b").await;
    let answer = Arc::new(Mutex::new(vec![a.addr]));
    let resolver: Resolver = {
        let answer = answer.clone();
        Arc::new(move |_host, _port| {
            let addrs = answer.lock().expect("lock").clone();
            Box::pin(async move { Ok(addrs) })
        })
    };
    let balancer = Balancer::with_resolver(
        &backend("dns"),
        &["http://menu.test:50051"],
        config(100),
        resolver,
    )
    .expect("balancer");
    let addrs = |balancer: &Balancer| -> Vec<SocketAddr> {
        balancer.endpoints().iter().map(|s| s.addr).collect()
    };
    let mut client = client(&balancer);
    // The first call waits for the first lookup.
    assert_eq!(read(&mut client).await.as_deref(), Ok("a"));
    assert_eq!(addrs(&balancer), [a.addr]);

    *answer.lock().expect("lock") = vec![a.addr, b.addr];
    mesh_testkit::eventually("b to be added", WAIT, || {
        let found = addrs(&balancer).len() == 2;
        async move { found.then_some(()) }
    })
    .await;

    *answer.lock().expect("lock") = vec![b.addr];
    mesh_testkit::eventually("a to be removed", WAIT, || {
        let found = addrs(&balancer) == [b.addr];
        async move { found.then_some(()) }
    })
    .await;
    for _ in 0..10 {
        assert_eq!(read(&mut client).await.as_deref(), Ok("b"));
    }

    // A lookup that fails keeps the last answer.
    *answer.lock().expect("lock") = vec![];
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(addrs(&balancer), [b.addr]);
}

/// The `grpc-timeout` of the last call the replica got, in ms.
fn last_timeout_ms(replica: &Replica) -> u128 {
    let timeouts = replica.behaviour.timeouts.lock().expect("lock");
    let value = timeouts
        .last()
        .cloned()
        .flatten()
        .expect("a grpc-timeout header");
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u128 = digits.parse().expect("digits");
    match unit {
        "n" => n / 1_000_000,
        "u" => n / 1_000,
        "m" => n,
        "S" => n * 1_000,
        other => panic!("unit {other}"),
    }
}

#[tokio::test]
async fn the_deadline_travels_as_grpc_timeout_and_a_retry_gets_only_what_is_left() {
    let a = Replica::start("a").await;
    let b = Replica::start("b").await;
    a.behaviour
        .unavailable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    a.behaviour
        .delay_ms
        .store(300, std::sync::atomic::Ordering::SeqCst);
    let settings = BalanceConfig {
        eject_after: 0,
        ..config(NO_PERIODIC_CHECKS)
    };
    let balancer =
        Balancer::new(&backend("deadline"), &[a.url(), b.url()], settings).expect("balancer");
    let mut client = client(&balancer);

    // Until one read goes to `a` first and is retried on `b`.
    for _ in 0..50 {
        let mut request = tonic::Request::new(pb::GetMenuItemRequest {
            id: support::ITEM_ID.to_owned(),
        });
        request.set_timeout(Duration::from_secs(2));
        let response = client.get_menu_item(request).await.expect("answered");
        assert_eq!(response.into_inner().name, "b");
        if a.behaviour.reads.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
    }
    let first = last_timeout_ms(&a);
    let retry = last_timeout_ms(&b);
    assert!(
        (1_800..=2_000).contains(&first),
        "first attempt: {first} ms"
    );
    // `a` took 300 ms of the 2 s before failing.
    assert!((1_000..=1_700).contains(&retry), "retry: {retry} ms");
}

#[tokio::test]
async fn a_call_with_no_deadline_gets_the_default_and_an_expired_one_fails_without_ejecting() {
    let a = Replica::start("a").await;
    let settings = config(NO_PERIODIC_CHECKS).with_default_timeout(Duration::from_millis(300));
    let balancer =
        Balancer::new(&backend("default-deadline"), &[a.url()], settings).expect("balancer");
    let mut client = client(&balancer);
    assert_eq!(read(&mut client).await.as_deref(), Ok("a"));
    let sent = last_timeout_ms(&a);
    assert!(
        (200..=300).contains(&sent),
        "default deadline sent: {sent} ms"
    );

    a.behaviour
        .delay_ms
        .store(2_000, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..5 {
        let started = Instant::now();
        let code = read(&mut client).await.expect_err("too slow");
        assert_eq!(code, Code::DeadlineExceeded);
        assert!(started.elapsed() < Duration::from_millis(1_500));
    }
    assert_eq!(
        state_of(&balancer, a.addr).map(EndpointState::is_available),
        Some(true),
        "a slow answer is not a dead endpoint"
    );
}
