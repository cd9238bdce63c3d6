namespace SeeSharp.Engine.Safetensors;

/// <summary>A safetensors file or sharded checkpoint is malformed. The message names the file and the fault.</summary>
public sealed class SafetensorsException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public SafetensorsException(string path, string fault, Exception? inner = null)
        : base($"{path}: {fault}", inner)
    {
        FilePath = path;
        Fault = fault;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Fault { get; }
}
