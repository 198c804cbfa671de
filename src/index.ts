/**
 * corral: the API for pipeline authors. Everything a pipeline imports comes from
 * here; no module inside corral imports this file.
 */
export { VERSION } from './version.js';
export { CorralError, ImproperlyConfigured, CommandError, DBError, ValidationError, ProcessorError } from './core/errors.js';
export { defineSettings, DEFAULT_GRADES, type UserSettings, type ResolvedSettings, type EmailSettings } from './conf/settings.js';
export { PipelineSetup } from './conf/pipeline-setup.js';
export { model, ModelInstance, type ModelClass, type ModelOptions } from './db/model.js';
export { integer, bigint, float, string, text, boolean, datetime, json, Column, type ColumnKind, type RowOf } from './db/columns.js';
export { where, type Condition } from './db/conditions.js';
export type { SettingsView } from './conf/load.js';
/** commander's command type, for `static configure(cmd: CommanderCommand)` in custom commands. */
export type { Command as CommanderCommand } from 'commander';
/** knex's types, for queries of your own through `this.db`. */
export type { Knex } from 'knex';
export { Processor } from './processors/processor.js';
export { Loader } from './processors/loader.js';
export { Step, type Ordering, type StepResult } from './processors/step.js';
export { Alert } from './processors/alert.js';
export { Endpoint, EndpointUnavailable, RowRejected } from './processors/endpoints/endpoint.js';
export { File, type FileOptions } from './processors/endpoints/file.js';
export { Email, type EmailOptions, type RowText } from './processors/endpoints/email.js';
export { Webhook, type WebhookOptions, type WebhookPayload } from './processors/endpoints/webhook.js';
export type { Delivery, EmailDelivery, WebhookDelivery } from './processors/endpoints/outbox.js';
export { Command } from './processors/command.js';
export type { Mode } from './conf/mode.js';

import { Endpoint } from './processors/endpoints/endpoint.js';
import { File } from './processors/endpoints/file.js';
import { Email } from './processors/endpoints/email.js';
import { Webhook } from './processors/endpoints/webhook.js';
/** Endpoints under the original's short name: `ep.File('x.log')`, `ep.Email({ to: [...] })`. */
export const ep = { Endpoint, File, Email, Webhook } as const;
export { TestCase, type CommandStatus, type StreamTarget } from './qa/test-case.js';
