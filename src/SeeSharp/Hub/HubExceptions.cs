namespace SeeSharp.Hub;

/// <summary>Base of every error raised by the Hub client and cache; the message names the repo, file and URL.</summary>
public class HubException : Exception
{
    /// <summary>Creates the error with a message and an optional cause.</summary>
    public HubException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>HTTP status the Hub answered with, when the error came from a response.</summary>
    public int? StatusCode { get; internal set; }
}

/// <summary>The repository does not exist, or is private/gated and no (valid) token was sent
/// (huggingface_hub's <c>RepositoryNotFoundError</c>, <c>X-Error-Code: RepoNotFound</c>).</summary>
public sealed class RepositoryNotFoundException(string message) : HubException(message);

/// <summary>The repository exists but needs a token or an accepted licence: HTTP 401/403 or
/// <c>X-Error-Code: GatedRepo</c> (huggingface_hub's <c>GatedRepoError</c>).</summary>
public sealed class GatedRepoException(string message) : HubException(message);

/// <summary>The revision (branch, tag or commit) does not exist (<c>X-Error-Code: RevisionNotFound</c>).</summary>
public sealed class RevisionNotFoundException(string message) : HubException(message);

/// <summary>The file does not exist at that revision (<c>X-Error-Code: EntryNotFound</c>, or a cached
/// <c>.no_exist</c> marker).</summary>
public sealed class EntryNotFoundException(string message) : HubException(message);

/// <summary>The file is not in the local cache and the Hub may not (offline) or could not be asked
/// (huggingface_hub's <c>LocalEntryNotFoundError</c>).</summary>
public sealed class LocalEntryNotFoundException(string message, Exception? inner = null) : HubException(message, inner);

/// <summary>A download did not match the size or SHA-256 the Hub announced; the partial file was deleted.</summary>
public sealed class HubIntegrityException(string message) : HubException(message);
