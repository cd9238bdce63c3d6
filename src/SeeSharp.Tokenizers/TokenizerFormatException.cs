namespace SeeSharp.Tokenizers;

/// <summary>
/// A <c>tokenizer.json</c> / <c>tokenizer_config.json</c> that cannot be loaded: malformed JSON, a missing or
/// mistyped field, or a component type this library does not implement. The message names the file, the JSON path
/// (e.g. <c>$.pre_tokenizer.pretokenizers[1].type</c>) and the offending value.
/// </summary>
public sealed class TokenizerFormatException : Exception
{
    /// <summary>Creates the exception; <paramref name="file"/> and <paramref name="jsonPath"/> are put in the message.</summary>
    public TokenizerFormatException(string file, string jsonPath, string message, Exception? inner = null)
        : base($"{file}: {jsonPath}: {message}", inner)
    {
        File = file;
        JsonPath = jsonPath;
    }

    /// <summary>The file that failed to load.</summary>
    public string File { get; }

    /// <summary>The JSON path of the offending field (<c>$</c> for the whole document).</summary>
    public string JsonPath { get; }
}
