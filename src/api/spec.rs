//! What one operation declares: its route, its subject, who may call it, and what it takes and
//! answers. The HTTP edge, the bus and the OpenAPI document all read it from here.

use std::borrow::Cow;

use axum::http::Method;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::error::ErrorCode;
use crate::model::conversation::{ListQuery, Page};

/// Who may call an operation, and how they prove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A Clerk session JWT whose active org is the subject's org (`Authorization`).
    Operator,
    /// A contact session token of the subject's org (`X-Contact-Session`).
    Contact,
    /// Anyone: the widget before it has a session.
    Anonymous,
}

/// How the HTTP edge serves an operation besides forwarding it to the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    Forwarded,
    /// Changes what the widget renders: the edge's settings cache forgets the org.
    ChangesPublicSettings,
    /// Answered from the edge's settings cache when it holds the org.
    CachedPublicSettings,
    /// A Server-Sent Events stream, opened once the bus authorizes it.
    Stream,
    /// Takes a multipart file upload besides JSON: the edge stores the file and forwards a
    /// reference to it (`Assist-Upload`).
    Upload,
}

pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// A JSON body: its component name, its schema, and the schemas that schema refers to.
#[derive(Clone, Copy)]
pub struct Body {
    pub name: fn() -> Cow<'static, str>,
    pub schema: fn() -> RefOr<Schema>,
    pub refs: fn(&mut Schemas),
}

pub fn body<T: ToSchema>() -> Body {
    Body { name: T::name, schema: T::schema, refs: T::schemas }
}

/// `Page<T>` under its own name (`ConversationPage`): one generic type, several schemas.
pub fn page<T: ToSchema>() -> Body {
    Body { name: page_name::<T>, schema: <Page<T>>::schema, refs: page_refs::<T> }
}

fn page_name<T: ToSchema>() -> Cow<'static, str> {
    format!("{}Page", T::name()).into()
}

/// A page refers to its item type, which must be in the document too.
fn page_refs<T: ToSchema>(schemas: &mut Schemas) {
    <Page<T>>::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// One operation, as declared in [`super::operations`].
#[derive(Clone)]
pub struct Operation {
    pub method: Method,
    /// axum syntax: `/v1/orgs/{org}/conversations/{id}`.
    pub path: &'static str,
    /// `(resource, verb)` of `assist.v1.public.<org>.<resource>.<verb>`.
    pub tokens: (&'static str, &'static str),
    pub access: Access,
    pub summary: &'static str,
    pub request: Option<Body>,
    /// The success status: 200, or 201 for what creates.
    pub status: u16,
    /// `None`: the answer is a Server-Sent Events stream, not a JSON body.
    pub response: Option<Body>,
    /// The query parameters it takes (`?status=&cursor=&limit=` of a listing), if any.
    pub query: Option<fn() -> Vec<Parameter>>,
    /// Errors the operation itself may answer, beyond those every route of its access answers.
    pub errors: &'static [ErrorCode],
    pub served: Served,
    /// A valid request body, for the isolation tests and the fuzzer's seed.
    pub example: Option<&'static str>,
}

/// An operation answering 200 with no request body; the builders below add the rest.
pub fn op(
    method: Method,
    path: &'static str,
    tokens: (&'static str, &'static str),
    access: Access,
) -> Operation {
    Operation {
        method,
        path,
        tokens,
        access,
        summary: "",
        request: None,
        status: 200,
        response: None,
        query: None,
        errors: &[],
        served: Served::Forwarded,
        example: None,
    }
}

impl Operation {
    pub fn summary(self, summary: &'static str) -> Self {
        Self { summary, ..self }
    }

    pub fn answers(self, response: Body) -> Self {
        Self { response: Some(response), ..self }
    }

    /// Takes a JSON body; `example` is a valid one.
    pub fn takes(self, request: Body, example: &'static str) -> Self {
        Self { request: Some(request), example: Some(example), ..self }
    }

    pub fn created(self) -> Self {
        Self { status: 201, ..self }
    }

    /// Takes `?status=&cursor=&limit=` like every list of conversations.
    pub fn listing(self) -> Self {
        self.query::<ListQuery>()
    }

    /// Takes the query parameters of `Q`.
    pub fn query<Q: IntoParams>(self) -> Self {
        Self { query: Some(|| Q::into_params(|| Some(ParameterIn::Query))), ..self }
    }

    /// Answers `status` instead of 200 on success.
    pub fn status(self, status: u16) -> Self {
        Self { status, ..self }
    }

    pub fn may_answer(self, errors: &'static [ErrorCode]) -> Self {
        Self { errors, ..self }
    }

    pub fn served(self, served: Served) -> Self {
        Self { served, ..self }
    }

    /// Every error status the route can answer, in the order of the error table.
    pub fn error_codes(&self) -> Vec<ErrorCode> {
        let mut codes = vec![ErrorCode::InvalidArgument, ErrorCode::NotFound];
        match self.access {
            Access::Operator => codes.extend([ErrorCode::Unauthenticated, ErrorCode::Forbidden]),
            Access::Contact => codes.extend([ErrorCode::Unauthenticated, ErrorCode::RateLimited]),
            Access::Anonymous => codes.push(ErrorCode::RateLimited),
        }
        if self.request.is_some() {
            codes.push(ErrorCode::PayloadTooLarge);
        }
        codes.extend(self.errors);
        codes.extend([ErrorCode::Internal, ErrorCode::Unavailable]);
        codes.sort_by_key(|code| code.status());
        codes.dedup();
        codes
    }
}
