//! SDK clients answered by rules, for the adapters' tests: `mock!(Client::operation)` starts a
//! typed rule, `then_output` / `then_compute_output` / `then_error` answer with the
//! operation's modeled shapes, `then_http_response` with bytes on the wire (parsed by the SDK as
//! a real answer would be, retries included), and `mock_client!` builds a client whose calls
//! the first matching rule answers; a call no rule answers panics, naming its input.
//!
//! Ours rather than `aws-smithy-mocks`: that crate turns on the `test-util` features of
//! `aws-smithy-runtime-api`, `aws-smithy-http-client` and every SDK crate, so `cargo test`
//! compiled the whole SDK a second time beside the binaries `make bins` builds (about 5 of
//! `make test`'s minutes here). This needs only the public interceptor API.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut, Error,
    FinalizerInterceptorContextMut, Input, Output,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// A typed rule for `$operation` (a client method path, `aws_sdk_rds::Client::describe_db_instances`).
macro_rules! mock {
    ($operation:path) => {
        #[allow(unreachable_code, clippy::diverging_sub_expression)]
        {
            // Never called: the closures only give the operation's input, output and error
            // types to `RuleBuilder`.
            $crate::wire::mock::RuleBuilder::of(
                || $operation(todo!()).as_input().clone().build().unwrap(),
                || $operation(todo!()).send(),
            )
        }
    };
}
pub(crate) use mock;

/// A client of `$sdk` (the crate) answered by `$rules` (`&[Rule]`), in the us-east-1 Region,
/// with static credentials; `$configure` adjusts its config builder (retries, timeouts).
macro_rules! mock_client {
    ($sdk:ident, $rules:expr) => {
        $crate::wire::mock::mock_client!($sdk, $rules, |c| c)
    };
    ($sdk:ident, $rules:expr, $configure:expr) => {{
        fn configure<F: Fn($sdk::config::Builder) -> $sdk::config::Builder>(f: F) -> F {
            f
        }
        $sdk::Client::from_conf(
            configure($configure)(
                $sdk::Config::builder()
                    .behavior_version($sdk::config::BehaviorVersion::latest())
                    .region($sdk::config::Region::new("us-east-1"))
                    .credentials_provider($sdk::config::Credentials::new(
                        "AKIDMOCK",
                        "mock-secret",
                        None,
                        None,
                        "mock",
                    ))
                    .http_client($crate::wire::mock::http_client())
                    .interceptor($crate::wire::mock::Rules::new($rules)),
            )
            .build(),
        )
    }};
}
pub(crate) use mock_client;

/// How a rule answers a call, each attempt anew (a retried call is answered again).
#[derive(Clone)]
enum Answer {
    Modeled(Arc<dyn Fn() -> Result<Output, Error> + Send + Sync>),
    Http(Arc<dyn Fn() -> HttpResponse + Send + Sync>),
}

/// What a rule does with a call: `None` when it does not match.
type Answers = dyn Fn(&Input) -> Option<Answer> + Send + Sync;

/// A rule of any operation: the answer to an input it matches.
#[derive(Clone)]
pub struct Rule(Arc<Answers>);

/// A rule of one operation, its matcher set, its answer not yet.
pub struct RuleBuilder<I, O, E> {
    matches: Arc<dyn Fn(&I) -> bool + Send + Sync>,
    types: PhantomData<fn() -> (O, E)>,
}

impl<I, O, E> RuleBuilder<I, O, E>
where
    I: Clone + fmt::Debug + Send + Sync + 'static,
    O: fmt::Debug + Send + Sync + 'static,
    E: std::error::Error + fmt::Debug + Send + Sync + 'static,
{
    /// The rule of the operation whose input `_input` builds and whose `send` `_send` calls.
    pub fn of<F>(_input: impl FnOnce() -> I, _send: impl FnOnce() -> F) -> Self
    where
        F: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    {
        RuleBuilder {
            matches: Arc::new(|_| true),
            types: PhantomData,
        }
    }

    /// Only the calls whose input `matches`.
    pub fn match_requests(self, matches: impl Fn(&I) -> bool + Send + Sync + 'static) -> Self {
        RuleBuilder {
            matches: Arc::new(matches),
            types: PhantomData,
        }
    }

    pub fn then_output(self, make: impl Fn() -> O + Send + Sync + 'static) -> Rule {
        self.then_compute_output(move |_| make())
    }

    pub fn then_compute_output(self, make: impl Fn(&I) -> O + Send + Sync + 'static) -> Rule {
        let make = Arc::new(make);
        self.answer(move |input| {
            let make = make.clone();
            Answer::Modeled(Arc::new(move || Ok(Output::erase(make(&input)))))
        })
    }

    pub fn then_error(self, make: impl Fn() -> E + Send + Sync + 'static) -> Rule {
        let make = Arc::new(make);
        self.answer(move |_| {
            let make = make.clone();
            Answer::Modeled(Arc::new(move || Err(Error::erase(make()))))
        })
    }

    pub fn then_http_response(
        self,
        make: impl Fn() -> HttpResponse + Send + Sync + 'static,
    ) -> Rule {
        let make: Arc<dyn Fn() -> HttpResponse + Send + Sync> = Arc::new(make);
        self.answer(move |_| Answer::Http(make.clone()))
    }

    fn answer(self, answer: impl Fn(I) -> Answer + Send + Sync + 'static) -> Rule {
        let matches = self.matches;
        Rule(Arc::new(move |input: &Input| {
            let input = input.downcast_ref::<I>()?;
            matches(input).then(|| answer(input.clone()))
        }))
    }
}

/// The interceptor that answers a client's calls by its rules.
#[derive(Clone)]
pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn new(rules: &[Rule]) -> Self {
        Rules(rules.to_vec())
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rules({})", self.0.len())
    }
}

/// The answer chosen for the call under way.
#[derive(Clone)]
struct Chosen(Answer);

impl fmt::Debug for Chosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Chosen")
    }
}

impl Storable for Chosen {
    type Storer = StoreReplace<Self>;
}

/// Answers on the wire, until the HTTP client takes them: the request carries the key.
static ON_THE_WIRE: LazyLock<Mutex<HashMap<u64, HttpResponse>>> = LazyLock::new(Default::default);
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);
const KEY_HEADER: &str = "x-mock-answer";

impl Intercept for Rules {
    fn name(&self) -> &'static str {
        "mock rules"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let answer = self
            .0
            .iter()
            .find_map(|rule| (rule.0)(input))
            .unwrap_or_else(|| panic!("no mock rule answers {input:?}"));
        cfg.interceptor_state().store_put(Chosen(answer));
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Chosen(Answer::Http(make))) = cfg.load::<Chosen>() {
            let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
            ON_THE_WIRE.lock().unwrap().insert(key, make());
            context
                .request_mut()
                .headers_mut()
                .insert(KEY_HEADER, key.to_string());
        }
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Chosen(Answer::Modeled(make))) = cfg.load::<Chosen>() {
            let answer = make().map_err(OrchestratorError::operation);
            context.inner_mut().set_output_or_error(answer);
        }
        Ok(())
    }
}

/// The HTTP client of a mocked client: it sends nothing, it returns the answer its rule put on
/// the wire (a 418 when a rule answered with a modeled shape, which replaces it).
pub fn http_client() -> SharedHttpClient {
    #[derive(Debug)]
    struct Wire;
    impl HttpConnector for Wire {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let taken = request
                .headers()
                .get(KEY_HEADER)
                .and_then(|key| key.parse::<u64>().ok())
                .and_then(|key| ON_THE_WIRE.lock().unwrap().remove(&key));
            let response = taken.unwrap_or_else(|| {
                HttpResponse::new(
                    StatusCode::try_from(418).unwrap(),
                    SdkBody::from("no answer on the wire: the rule answers with a shape"),
                )
            });
            HttpConnectorFuture::ready(Ok(response))
        }
    }
    http_client_fn(|_, _| SharedHttpConnector::new(Wire))
}
