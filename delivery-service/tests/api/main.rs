//! delivery-service over real gRPC, on real PostgreSQL and a real broker; each test with its
//! own database and topics.

mod consuming;
mod helpers;
mod lifecycle;
mod projection;
