using System.CommandLine;
using System.Text.Json;
using SeeSharp.Tokenizers;

namespace SeeSharp.Cli;

/// <summary>
/// <c>seesharp tokenize --tokenizer &lt;dir|file&gt; [--no-special] [TEXT]</c>: the ids as a JSON array. Without TEXT,
/// one JSON-encoded string per stdin line gives one JSON array per line.
/// </summary>
internal static class TokenizeCommand
{
    public static Command Create(CliIo io)
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "A tokenizer.json file or a folder holding one.", Required = true };
        var noSpecial = new Option<bool>("--no-special") { Description = "Do not add special tokens (BOS/EOS templates)." };
        var text = new Argument<string?>("TEXT") { Arity = ArgumentArity.ZeroOrOne, Description = "Text to tokenize; without it, JSON strings from stdin, one per line." };
        var cmd = new Command("tokenize", "Print the token ids of a text.") { tokenizer, noSpecial, text };
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(tokenizer)!;
            var tok = Directory.Exists(path) ? Tokenizer.FromFolder(path)
                : File.Exists(path) ? Tokenizer.FromFile(path, SiblingConfig(path))
                : throw new FileNotFoundException($"tokenizer not found: {path}");
            bool add = !pr.GetValue(noSpecial);
            var single = pr.GetValue(text);
            if (single is not null)
            {
                io.Out.WriteLine(Ids(tok, single, add));
                return 0;
            }
            int lineNo = 0;
            for (string? line; (line = io.In.ReadLine()) is not null;)
            {
                lineNo++;
                if (line.Length == 0) continue;
                string? s;
                try { s = JsonSerializer.Deserialize<string>(line); }
                catch (JsonException e) { throw new InvalidDataException($"stdin line {lineNo}: not a JSON string ({e.Message})"); }
                if (s is null) throw new InvalidDataException($"stdin line {lineNo}: null is not a string");
                io.Out.WriteLine(Ids(tok, s, add));
            }
            return 0;
        });
        return cmd;
    }

    private static string? SiblingConfig(string tokenizerJson)
    {
        var config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJson))!, "tokenizer_config.json");
        return File.Exists(config) ? config : null;
    }

    private static string Ids(Tokenizer tok, string text, bool addSpecial) => "[" + string.Join(",", tok.Encode(text, addSpecial).Ids) + "]";
}
