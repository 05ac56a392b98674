//! `POST /auth/dev-token`: the development sign-in, mounted only with `GATEWAY_DEV_LOGIN=true`.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{Auth, DEV_TOKEN_TTL, Role},
    error::{ApiError, ErrorCode},
};

/// `POST /auth/dev-token` `{"role": "customer", "sub": "c-1"}`.
#[derive(Debug, Deserialize)]
pub struct DevSignIn {
    role: Option<String>,
    sub: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DevToken {
    token: String,
    role: &'static str,
    sub: String,
    expires_in: u64,
}

/// The development sign-in: a token for any role and subject, so a person (or the web page)
/// can act as a customer, courier or admin without the command line. Mounted only with
/// `GATEWAY_DEV_LOGIN=true`.
pub async fn dev_token(
    State(auth): State<Auth>,
    super::rest::Json(body): super::rest::Json<DevSignIn>,
) -> Result<Json<DevToken>, ApiError> {
    let names: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
    let role = body.role.as_deref().and_then(Role::parse).ok_or_else(|| {
        ApiError::invalid("role", &format!("must be one of {}", names.join(", ")))
    })?;
    let sub = mesh_kit::text::TextRule::line(100)
        .required("sub", body.sub.as_deref().unwrap_or_default())
        .map_err(|err| ApiError::new(ErrorCode::InvalidArgument, err.to_string()))?;
    let token = auth
        .verifier
        .issue(&sub, &[role], DEV_TOKEN_TTL)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::FailedPrecondition,
                "development sign-in needs GATEWAY_JWT_SECRET (tokens here come from the identity provider)",
            )
        })?;
    Ok(Json(DevToken {
        token,
        role: role.as_str(),
        sub,
        expires_in: DEV_TOKEN_TTL.as_secs(),
    }))
}
