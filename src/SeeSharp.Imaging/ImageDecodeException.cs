namespace SeeSharp.Imaging;

/// <summary>An image file could not be decoded: unknown format, corrupt or truncated data, or over a size limit.</summary>
public sealed class ImageDecodeException : Exception
{
    /// <summary>Creates the exception; the message names <paramref name="sourceName"/>.</summary>
    public ImageDecodeException(string sourceName, string reason, Exception? inner = null)
        : base($"cannot decode image '{sourceName}': {reason}", inner)
    {
        SourceName = sourceName;
        Reason = reason;
    }

    /// <summary>The file path or caller-given name of the image.</summary>
    public string SourceName { get; }

    /// <summary>What went wrong, without the source name.</summary>
    public string Reason { get; }
}
