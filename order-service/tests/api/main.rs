//! order-service over real gRPC, with a real menu-service for prices, on real PostgreSQL and a
//! real broker; each test with its own databases and topics.

mod consuming;
mod helpers;
mod placing;
mod projection;
