//! `POST /v1/orgs/{org}/knowledge`: a file is far larger than a NATS message, so the edge
//! stores it in the object store (`bus::uploads`) and forwards only its name
//! (`Assist-Upload`); the operation on the org's owner checks everything again. JSON bodies
//! are forwarded as they are.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, Request, header};
use axum::response::{IntoResponse, Response};

use super::Edge;
use crate::api::Endpoint;
use crate::bus::envelope;
use crate::bus::uploads::Source;
use crate::error::{ApiError, ErrorCode};
use crate::ids::OrgId;
use crate::model::knowledge::{ContentType, MAX_FILE_BYTES, MAX_TEXT_BYTES, validate_title};

/// The request may be this much larger than its file: the form's boundaries and other fields.
const FORM_OVERHEAD: usize = 64 * 1024;
/// What the route's body limit must allow.
pub(super) const BODY_LIMIT: usize = MAX_FILE_BYTES + FORM_OVERHEAD;

pub(super) async fn knowledge_create(
    State(edge): State<Arc<Edge>>,
    Path(mut path): Path<HashMap<String, String>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    request: Request<Body>,
) -> Response {
    let org = path.remove("org").unwrap_or_default();
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let result = if multipart {
        upload(&edge, &org, &headers, request).await
    } else {
        let body = axum::body::to_bytes(request.into_body(), MAX_TEXT_BYTES + FORM_OVERHEAD).await.map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("body: JSON documents may carry at most {MAX_TEXT_BYTES} bytes of text; upload a file instead"),
            )
        });
        match body {
            Ok(body) => {
                edge.call_with(Endpoint::KnowledgeCreate, &org, path, query, &headers, None, body).await
            }
            Err(err) => Err(err),
        }
    };
    match result {
        Ok(reply) => super::forward::answer(reply),
        Err(err) => err.into_response(),
    }
}

/// Stores the form's `file` (titled by its `title` field, or its file name) and forwards it.
async fn upload(
    edge: &Edge,
    org: &str,
    headers: &HeaderMap,
    request: Request<Body>,
) -> Result<envelope::Reply, ApiError> {
    let id = OrgId::parse(org)?;
    // Only an admin of the org may make assist store a file, before a byte of it is read.
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let operator = edge.auth.operator(authorization, &id).await?;
    if !operator.is_admin() {
        return Err(ApiError::forbidden("only an organization admin may add or delete documents"));
    }
    let mut form =
        Multipart::from_request(request, &()).await.map_err(|e| ApiError::invalid("body", e.body_text()))?;
    let (mut file, mut title) = (None, None);
    while let Some(field) = form.next_field().await.map_err(field_error)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().map(str::to_owned);
                let declared = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.map_err(field_error)?;
                file = Some((name, declared, bytes));
            }
            Some("title") => title = Some(field.text().await.map_err(field_error)?),
            Some(other) => {
                return Err(ApiError::invalid(other, "unknown field; send `file` and optionally `title`"));
            }
            None => return Err(ApiError::invalid("body", "a form field has no name")),
        }
    }
    let (name, declared, bytes) = file.ok_or_else(|| ApiError::invalid("file", "is required"))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("file: must be at most {MAX_FILE_BYTES} bytes"),
        ));
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid("file", "is empty"));
    }
    let content_type = ContentType::detect(declared.as_deref(), name.as_deref())?;
    let title = title.or(name).map(|t| t.trim().to_owned()).unwrap_or_default();
    validate_title(&title)?;
    let source = Source::describe(title, content_type.media_type(), &bytes);
    let stored = edge.uploads.put(&id, &source, &bytes).await?;
    let body = Bytes::new();
    edge.call_with(Endpoint::KnowledgeCreate, org, HashMap::new(), None, headers, Some(&stored), body).await
}

fn field_error(err: axum::extract::multipart::MultipartError) -> ApiError {
    if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, format!("file: must be at most {MAX_FILE_BYTES} bytes"))
    } else {
        ApiError::invalid("body", err.body_text())
    }
}
