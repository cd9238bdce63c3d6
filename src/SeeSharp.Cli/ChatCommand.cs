using System.CommandLine;

namespace SeeSharp.Cli;

/// <summary>
/// <c>seesharp chat --model ...</c>: an interactive multi-turn session. <c>/image PATH</c> attaches an image to the next
/// message, <c>/reset</c> starts over, <c>/exit</c> (or end of input) leaves. Each answer streams, then its tokens/s.
/// Turns reuse the KV cache and image features of the conversation so far.
/// </summary>
internal static class ChatCommand
{
    public static Command Create(CliIo io)
    {
        var o = new ModelOptions();
        var cmd = new Command("chat", "Talk with a model about images, turn by turn.");
        o.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            using var model = await VisionModel.FromPretrainedAsync(o.Model(pr), o.LoadOptions(pr, ProgressBar.ForLoad(io)), ct);
            var processor = await Processor.FromPretrainedAsync(o.Model(pr), null, ct);
            var options = o.GenerationOptions(pr, model);
            io.Err.WriteLine("Type a message. /image PATH attaches an image to the next message, /reset starts over, /exit leaves.");
            var chat = new Chat();
            using var conversation = model.StartConversation();
            var pending = new List<object>();
            while (!ct.IsCancellationRequested)
            {
                io.Err.Write(pending.Count > 0 ? $"you ({pending.Count} image{(pending.Count > 1 ? "s" : "")})> " : "you> ");
                io.Err.Flush();
                var line = io.In.ReadLine();
                if (line is null || line.Trim() == "/exit") break;
                line = line.Trim();
                if (line.Length == 0) continue;
                if (line == "/reset") { chat = new Chat(); pending.Clear(); conversation.Reset(); io.Err.WriteLine("(conversation reset)"); continue; }
                if (line.StartsWith("/image", StringComparison.Ordinal))
                {
                    var path = line["/image".Length..].Trim().Trim('"');
                    try { pending.Add(Image.Load(path)); io.Err.WriteLine($"(attached {path})"); }
                    catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException or UnauthorizedAccessException) { io.Err.WriteLine($"error: {e.Message}"); }
                    continue;
                }
                if (line.StartsWith('/')) { io.Err.WriteLine($"unknown command {line.Split(' ')[0]} (try /image PATH, /reset, /exit)"); continue; }
                pending.Add(line);
                var turn = chat.Turns.Count;
                chat.User(pending.ToArray());
                pending.Clear();
                ModelInputs inputs;
                try { inputs = processor.Apply(chat, addGenerationPrompt: true); }
                catch (Exception e) when (e is ArgumentException or InvalidDataException or NotSupportedException)
                {
                    io.Err.WriteLine($"error: {CliApp.OneLine(e)}");
                    chat = RemoveLastTurn(chat, turn);
                    continue;
                }
                var answer = new System.Text.StringBuilder();
                GenerationResult? result = null;
                await foreach (var chunk in conversation.GenerateStreamingAsync(inputs, options, ct))
                {
                    io.Out.Write(chunk.Text); io.Out.Flush();
                    answer.Append(chunk.Text);
                    result ??= chunk.Result;
                }
                io.Out.WriteLine();
                if (result is not null)
                    io.Err.WriteLine($"({result.Tokens.Count} tokens, {result.Timings.DecodeTokensPerSecond:F1} tokens/s, prefill {result.Timings.PrefillTokens} of {result.PromptTokens} tokens in {result.Timings.PrefillSeconds:F2} s)");
                chat.Assistant(answer.ToString().Trim());
            }
            return 0;
        });
        return cmd;
    }

    private static Chat RemoveLastTurn(Chat chat, int keep)
    {
        var copy = new Chat();
        foreach (var t in chat.Turns.Take(keep)) copy.Add(t.Role, t.Parts.Cast<object>().ToArray());
        return copy;
    }
}
