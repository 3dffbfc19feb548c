//! The MCP server: each tool call is a run of the prepared session (`crate::session`), in its own
//! instance of the component compiled once, over the connections the calls share.

use super::answers;
use super::tools::{self, Call, MAPPING_SCHEMA_URI, ToolSpec};
use crate::session::{Selection, Session};
use crate::stop::Stop;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, Semaphore};

/// Clones share everything: the streamable HTTP transport makes one per request.
#[derive(Clone)]
pub struct Server {
    session: Arc<Session>,
    allow_writes: bool,
    /// Shared by every call: a stop signal ends each of them between writes.
    stop: Stop,
    tools: Arc<[Tool]>,
    calls: Calls,
    /// One per call allowed to run at once.
    turns: Arc<Semaphore>,
}

/// The tool calls running now, so a stopping server can wait for them to answer.
#[derive(Clone, Default)]
pub struct Calls(Arc<CallCount>);

#[derive(Default)]
struct CallCount {
    running: AtomicUsize,
    none_left: Notify,
}

/// One running call; dropping it ends it.
struct Running(Calls);

impl Calls {
    fn start(&self) -> Running {
        self.0.running.fetch_add(1, Ordering::SeqCst);
        Running(self.clone())
    }

    /// Resolves once no call is running.
    pub async fn finished(&self) {
        loop {
            let notified = self.0.none_left.notified();
            if self.0.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.0.none_left.notify_waiters();
        }
    }
}

impl Server {
    /// At most `concurrent` calls run at once; the others wait for their turn.
    pub fn new(session: Session, allow_writes: bool, concurrent: usize, stop: Stop) -> Server {
        Server {
            session: Arc::new(session),
            allow_writes,
            stop,
            tools: tools::all(allow_writes).into_iter().map(tool).collect(),
            calls: Calls::default(),
            turns: Arc::new(Semaphore::new(concurrent)),
        }
    }

    /// The calls running now.
    pub fn in_flight(&self) -> Calls {
        self.calls.clone()
    }

    async fn answer(&self, call: Call) -> CallToolResult {
        match call {
            Call::Sync {
                tenants,
                groups,
                dry_run,
            } => {
                let forced = !dry_run && !self.allow_writes;
                let selection = Selection {
                    dry_run: dry_run || forced,
                    groups,
                    tenants,
                };
                let result = self.session.sync(&selection, &self.stop).await;
                answers::synced(result, forced, self.session.log())
            }
            Call::Plan => {
                let selection = Selection {
                    dry_run: true,
                    ..Selection::default()
                };
                let result = self.session.sync(&selection, &self.stop).await;
                answers::planned(result, self.session.log())
            }
            Call::Validate { document } => {
                answers::validated(self.session.validate(&document).await, self.session.log())
            }
        }
    }
}

/// A tool as MCP lists it.
fn tool(spec: ToolSpec) -> Tool {
    let schema = |value: serde_json::Value| {
        Arc::new(match value {
            serde_json::Value::Object(object) => object,
            _ => unreachable!("a tool's schemas are objects"),
        })
    };
    let annotations = ToolAnnotations::with_title(spec.title)
        .read_only(spec.read_only)
        .destructive(false)
        .idempotent(true)
        .open_world(spec.open_world);
    Tool::new(spec.name, spec.description, schema(spec.input))
        .with_title(spec.title)
        .with_raw_output_schema(schema(spec.output))
        .with_annotations(annotations)
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "tenant-sync",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(answers::instructions(self.allow_writes))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(call) = tools::read(&request.name, request.arguments) else {
            return Err(McpError::invalid_params(
                format!("no tool named {:?}", excerpt_name(&request.name)),
                None,
            ));
        };
        let _running = self.calls.start();
        // A call waiting for its turn when the server is stopping is refused below.
        let _turn = tokio::select! {
            turn = self.turns.acquire() => Some(turn),
            _ = self.stop.stopping() => None,
        };
        let result = match (call, self.stop.requested()) {
            (Ok(_), Some(signal)) => answers::refused(&format!(
                "the server is stopping ({}): no new call is run; call again once it is back",
                signal.name()
            )),
            (Ok(call), None) => self.answer(call).await,
            (Err(message), _) => answers::refused(&message),
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let schema = Resource::new(MAPPING_SCHEMA_URI, "mapping-schema")
            .with_title("The tenant mapping's JSON Schema")
            .with_description("JSON Schema (2020-12) of the mapping document kept in 1Password, as `tenant-sync schema` prints it.")
            .with_mime_type("application/schema+json");
        Ok(ListResourcesResult::with_all_items(vec![schema]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if request.uri != MAPPING_SCHEMA_URI {
            return Err(McpError::resource_not_found(
                format!(
                    "no resource {:?}; this server has {MAPPING_SCHEMA_URI}",
                    excerpt_name(&request.uri)
                ),
                None,
            ));
        }
        let schema = tenant_sync_core::mapping_schema::json_schema();
        let text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
        let contents = ResourceContents::text(text, MAPPING_SCHEMA_URI)
            .with_mime_type("application/schema+json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// A name the client sent, quoted back bounded and visible.
fn excerpt_name(name: &str) -> String {
    use tenant_sync_core::untrusted::{excerpt, terminal_safe};
    terminal_safe(&excerpt(name)).into_owned()
}
