//! Every operation's HTTP route, in one exhaustive match: adding an operation without a route
//! does not compile, and the isolation tests walk this table.

use axum::http::Method;

use crate::bus::subjects::Endpoint;

/// The method and path (axum syntax) of an operation's HTTP route.
pub fn route(endpoint: Endpoint) -> (Method, &'static str) {
    match endpoint {
        Endpoint::OrgGet => (Method::GET, "/v1/orgs/{org}"),
        Endpoint::SettingsGet => (Method::GET, "/v1/orgs/{org}/widget-settings"),
        Endpoint::SettingsPut => (Method::PUT, "/v1/orgs/{org}/widget-settings"),
        Endpoint::ConversationsList => (Method::GET, "/v1/orgs/{org}/conversations"),
        Endpoint::ConversationGet => (Method::GET, "/v1/orgs/{org}/conversations/{id}"),
        Endpoint::ConversationPatch => (Method::PATCH, "/v1/orgs/{org}/conversations/{id}"),
        Endpoint::MessagesList => (Method::GET, "/v1/orgs/{org}/conversations/{id}/messages"),
        Endpoint::MessagesCreate => (Method::POST, "/v1/orgs/{org}/conversations/{id}/messages"),
        Endpoint::ContactSessionGet => (Method::GET, "/v1/orgs/{org}/contact-sessions/{id}"),
        Endpoint::PluginGet => (Method::GET, "/v1/orgs/{org}/plugins/vapi"),
        Endpoint::PluginPut => (Method::PUT, "/v1/orgs/{org}/plugins/vapi"),
        Endpoint::PluginDelete => (Method::DELETE, "/v1/orgs/{org}/plugins/vapi"),
        Endpoint::VapiAssistants => (Method::GET, "/v1/orgs/{org}/vapi/assistants"),
        Endpoint::VapiPhoneNumbers => (Method::GET, "/v1/orgs/{org}/vapi/phone-numbers"),
        Endpoint::EventTicketCreate => (Method::POST, "/v1/orgs/{org}/events/tickets"),
        Endpoint::Events => (Method::GET, "/v1/orgs/{org}/events"),
        Endpoint::WidgetSettings => (Method::GET, "/v1/widget/{org}/settings"),
        Endpoint::SessionCreate => (Method::POST, "/v1/widget/{org}/sessions"),
        Endpoint::SessionCurrent => (Method::GET, "/v1/widget/{org}/sessions/current"),
        Endpoint::WidgetConversationCreate => (Method::POST, "/v1/widget/{org}/conversations"),
        Endpoint::WidgetConversationsList => (Method::GET, "/v1/widget/{org}/conversations"),
        Endpoint::WidgetConversationGet => (Method::GET, "/v1/widget/{org}/conversations/{id}"),
        Endpoint::WidgetMessagesCreate => (Method::POST, "/v1/widget/{org}/conversations/{id}/messages"),
        Endpoint::WidgetMessagesList => (Method::GET, "/v1/widget/{org}/conversations/{id}/messages"),
        Endpoint::WidgetEvents => (Method::GET, "/v1/widget/{org}/events"),
    }
}
