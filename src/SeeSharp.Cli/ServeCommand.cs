using System.CommandLine;
using SeeSharp.Server;

namespace SeeSharp.Cli;

/// <summary>
/// <c>seesharp serve</c>: an OpenAI-compatible server (<c>/v1/chat/completions</c>, <c>/v1/models</c>, <c>/health</c>,
/// a chat page at <c>/</c>) over one model, until Ctrl+C / SIGTERM.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliIo io)
    {
        var defaults = new ServerOptions();
        var model = new Option<string>("--model") { Description = "A Hub id (org/name[@revision]) or a local checkpoint folder.", Required = true };
        var host = new Option<string>("--host") { Description = "Address to bind (default 127.0.0.1: this machine only).", DefaultValueFactory = _ => defaults.Host };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port).", DefaultValueFactory = _ => defaults.Port };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on /v1 requests (default: the SEESHARP_API_KEY variable, else none)." };
        var quantize = new Option<string>("--quantize") { Description = "Weights: none, int8 or int4.", DefaultValueFactory = _ => "none" };
        quantize.AcceptOnlyFromAmong("none", "int8", "int4");
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: cores)." };
        var remote = new Option<bool>("--allow-remote-images") { Description = "Let requests name http(s)/file image URLs, which the server then fetches (off: data: URLs only)." };
        var name = new Option<string?>("--model-name") { Description = "The model id reported by /v1/models (default: the --model value)." };
        var queue = new Option<int>("--max-queue") { Description = "Requests that may wait for the model; more get 429.", DefaultValueFactory = _ => defaults.MaxQueueLength };
        var bodyMb = new Option<int>("--max-body-mb") { Description = "Largest request body in MiB (413 above).", DefaultValueFactory = _ => (int)(defaults.MaxRequestBodyBytes >> 20) };
        var images = new Option<int>("--max-images") { Description = "Most images per request.", DefaultValueFactory = _ => defaults.MaxImagesPerRequest };
        var pixels = new Option<long>("--max-image-pixels") { Description = "Largest width*height of an image, read from its header.", DefaultValueFactory = _ => defaults.MaxImagePixels };
        var maxTokens = new Option<int>("--max-tokens-limit") { Description = "Largest max_tokens a request may ask for.", DefaultValueFactory = _ => defaults.MaxTokensLimit };
        var defaultTokens = new Option<int>("--default-max-tokens") { Description = "Budget of a request without max_tokens.", DefaultValueFactory = _ => defaults.DefaultMaxTokens };
        var quiet = new Option<bool>("--quiet") { Description = "Do not log each request to stderr." };

        var cmd = new Command("serve", "Serve a model over an OpenAI-compatible HTTP API with a web chat page.");
        foreach (var o in new Option[] { model, host, port, apiKey, quantize, threads, remote, name, queue, bodyMb, images, pixels, maxTokens, defaultTokens, quiet })
            cmd.Options.Add(o);
        cmd.SetAction(async (pr, ct) =>
        {
            var options = new ServerOptions
            {
                Host = pr.GetValue(host)!,
                Port = pr.GetValue(port),
                ApiKey = pr.GetValue(apiKey) ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEESHARP_API_KEY")),
                AllowRemoteImages = pr.GetValue(remote),
                MaxQueueLength = pr.GetValue(queue),
                MaxRequestBodyBytes = (long)pr.GetValue(bodyMb) << 20,
                MaxImagesPerRequest = pr.GetValue(images),
                MaxImagePixels = pr.GetValue(pixels),
                MaxTokensLimit = pr.GetValue(maxTokens),
                DefaultMaxTokens = pr.GetValue(defaultTokens),
            };
            options.Validate();
            int? t = pr.GetValue(threads);
            if (t is < 1) throw new ArgumentException($"--threads must be at least 1 (got {t})");
            string id = pr.GetValue(model)!;
            var load = new LoadOptions
            {
                Quantization = pr.GetValue(quantize) switch { "int8" => Quantization.Int8, "int4" => Quantization.Int4, _ => Quantization.None },
                Threads = t,
                Progress = ProgressBar.ForLoad(io),
            };
            using var vision = await VisionModel.FromPretrainedAsync(id, load, ct);
            var processor = await Processor.FromPretrainedAsync(id, load.Hub, ct);
            var backend = new VisionModelChatBackend(vision, processor, pr.GetValue(name) ?? id);
            await using var server = new SeeSharpServer(backend, options, pr.GetValue(quiet) ? null : io.Err);
            await server.StartAsync(ct);
            io.Err.WriteLine($"seesharp: serving {backend.ModelId} on {server.Address} (OpenAI API at {server.Address}v1, chat page at {server.Address})" +
                (options.ApiKey is null ? "" : ", API key required"));
            if (options.Host is not ("127.0.0.1" or "localhost" or "::1") && options.ApiKey is null)
                io.Err.WriteLine("seesharp: warning: listening beyond this machine without --api-key");
            try
            {
                await Task.WhenAny(server.WaitForShutdownAsync(CancellationToken.None), Task.Delay(Timeout.Infinite, ct));
            }
            finally
            {
                io.Err.WriteLine("seesharp: shutting down (in-flight requests get a few seconds to finish)");
                await server.StopAsync(CancellationToken.None);
            }
            return 0;
        });
        return cmd;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
