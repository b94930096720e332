// A two-turn tool loop with the Vercel AI SDK, traced with `experimental_telemetry` and exported
// by the OpenTelemetry Node SDK over OTLP. Nothing here names otel-jsonl: the exporter is
// configured only by the standard environment variables (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, ...), as in any app.
//
// OPENAI_BASE_URL points the provider at the test's loopback server, which speaks Chat
// Completions; `openai.chat(...)` selects that API (the provider's default is Responses).
import { NodeSDK } from "@opentelemetry/sdk-node";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const sdk = new NodeSDK();
sdk.start();

const openai = createOpenAI({
  baseURL: process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY ?? "test-key",
});

const getWeather = tool({
  description: "Current weather for a city.",
  inputSchema: z.object({ city: z.string().describe("City name") }),
  execute: async ({ city }) =>
    JSON.stringify({ city, conditions: "sunny", temperature_c: 21 }),
});

const request = {
  model: openai.chat("gpt-4o-mini"),
  system: "You are a concise weather assistant. Use the tools you are given.",
  prompt: "What is the weather in Lisbon?",
  tools: { get_weather: getWeather },
  stopWhen: stepCountIs(4),
  maxRetries: 0,
  experimental_telemetry: { isEnabled: true, functionId: "weather-agent" },
};

try {
  // AGENT_STREAM=1: the same loop with streamText (server-sent events from the model).
  if (process.env.AGENT_STREAM === "1") {
    const result = streamText(request);
    await result.consumeStream(); // the run's span ends when the stream is fully read
    console.log(await result.text);
  } else {
    const result = await generateText(request);
    console.log(result.text);
  }
} finally {
  await sdk.shutdown();
}
