use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::auth::Operator;
use crate::db::Repos;
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::model::organization::Organization;
use crate::model::widget_settings::{PublicSettings, WidgetSettings};

pub(crate) struct OrgActor;

pub(crate) struct OrgArgs {
    pub org: OrgId,
    pub repos: Repos,
}

/// What the actor keeps in memory: small on purpose, since many thousands may be active.
pub(crate) struct OrgState {
    org: OrgId,
    repos: Repos,
    organization: Option<Organization>,
    settings: Option<WidgetSettings>,
}

pub(crate) type Reply<T> = RpcReplyPort<Result<T, ApiError>>;

pub(crate) enum OrgMsg {
    /// An operator reads the widget settings (the defaults until they are first saved).
    GetSettings(Operator, Reply<WidgetSettings>),
    /// An operator replaces the widget settings; answered after the write is committed.
    PutSettings(Operator, WidgetSettings, Reply<WidgetSettings>),
    /// The anonymous widget's view; `not_found` while the organization is unknown.
    WidgetSettings(Reply<PublicSettings>),
    /// Sent by tenants when idle: stop once the messages already queued are answered.
    Passivate,
}

impl Actor for OrgActor {
    type Msg = OrgMsg;
    type State = OrgState;
    type Arguments = OrgArgs;

    /// Loads everything from the database, so a restarted actor is exactly as the last
    /// committed write left it.
    async fn pre_start(&self, _: ActorRef<OrgMsg>, args: OrgArgs) -> Result<OrgState, ActorProcessingErr> {
        let organization = args.repos.organizations.get(&args.org).await?;
        let settings = args.repos.widget_settings.get(&args.org).await?;
        Ok(OrgState { org: args.org, repos: args.repos, organization, settings })
    }

    async fn handle(
        &self,
        myself: ActorRef<OrgMsg>,
        msg: OrgMsg,
        state: &mut OrgState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            OrgMsg::GetSettings(operator, reply) => {
                let result = state.first_sight(&operator).await.map(|()| state.settings_or_default());
                reply.send(result)?;
            }
            OrgMsg::PutSettings(operator, settings, reply) => {
                let result = state.put_settings(&operator, settings).await;
                crate::faults::after_write(&state.org);
                reply.send(result)?;
            }
            OrgMsg::WidgetSettings(reply) => reply.send(state.public_settings())?,
            OrgMsg::Passivate => myself.stop(Some("passivated".into())),
        }
        Ok(())
    }
}

impl OrgState {
    fn settings_or_default(&self) -> WidgetSettings {
        self.settings.clone().unwrap_or_default()
    }

    /// An operator with a verified token for this org proves it exists, even before Clerk's
    /// webhook tells us.
    async fn first_sight(&mut self, operator: &Operator) -> Result<(), ApiError> {
        if self.organization.is_none() {
            tracing::info!(org = %self.org, user = %operator.user_id, "organization first seen");
            self.organization = Some(self.repos.organizations.ensure(&self.org).await?);
        }
        Ok(())
    }

    async fn put_settings(
        &mut self,
        operator: &Operator,
        settings: WidgetSettings,
    ) -> Result<WidgetSettings, ApiError> {
        self.first_sight(operator).await?;
        self.repos.widget_settings.put(&self.org, &settings).await?;
        tracing::info!(org = %self.org, user = %operator.user_id, "widget settings replaced");
        self.settings = Some(settings.clone());
        Ok(settings)
    }

    fn public_settings(&self) -> Result<PublicSettings, ApiError> {
        if self.organization.is_none() {
            return Err(ApiError::not_found(format!("organization {} is not known to assist", self.org)));
        }
        Ok(PublicSettings::new(self.org.clone(), &self.settings_or_default()))
    }
}
