import { createApp } from "./http/app.ts";

export { ModelWriter } from "./writer/model-writer.ts";

export default createApp();
