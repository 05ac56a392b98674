//! billing-service over real gRPC, on real PostgreSQL and a real broker; each test with its own
//! database and topics. `crash` runs the real binary and SIGKILLs it.

mod crash;
mod helpers;
mod payments;
mod projection;
mod requests;
