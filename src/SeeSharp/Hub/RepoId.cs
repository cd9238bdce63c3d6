using System.Text.RegularExpressions;

namespace SeeSharp.Hub;

/// <summary>
/// Validation of the names that reach the file system or a URL: repo ids (huggingface_hub's
/// <c>validate_repo_id</c>), revisions and repo-relative file names (from the caller, an index or a listing).
/// Everything is checked before any path is built.
/// </summary>
public static partial class RepoId
{
    /// <summary>Hub's default branch (huggingface_hub's <c>DEFAULT_REVISION</c>).</summary>
    public const string DefaultRevision = "main";

    // huggingface_hub: ^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$ — each part starts and ends with a word character.
    // ASCII only here: the Hub itself only creates ASCII names, and anything else is safer refused.
    [GeneratedRegex(@"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?/)?[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?$")]
    private static partial Regex RepoIdRegex();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHashRegex();

    /// <summary>True when <paramref name="revision"/> is a full 40-hex commit hash (huggingface_hub's REGEX_COMMIT_HASH).</summary>
    public static bool IsCommitHash(string revision) => CommitHashRegex().IsMatch(revision);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="repoId"/> is a valid Hub repo id
    /// (<c>name</c> or <c>namespace/name</c>; word characters, '-', '.'; no "--" or ".."; not ending in ".git";
    /// name at most 96 characters).</summary>
    public static void Validate(string repoId)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        if (repoId.Count(c => c == '/') > 1)
            throw new ArgumentException($"Repo id must be 'name' or 'namespace/name', got '{repoId}'.", nameof(repoId));
        if (!RepoIdRegex().IsMatch(repoId))
            throw new ArgumentException(
                $"Repo id '{repoId}' is invalid: use alphanumerics, '-', '_' and '.', starting and ending with an " +
                "alphanumeric or '_', at most 96 characters for the name.", nameof(repoId));
        if (repoId.Contains("--") || repoId.Contains(".."))
            throw new ArgumentException($"Repo id '{repoId}' is invalid: '--' and '..' are forbidden.", nameof(repoId));
        if (repoId.EndsWith(".git", StringComparison.Ordinal))
            throw new ArgumentException($"Repo id '{repoId}' is invalid: it cannot end with '.git'.", nameof(repoId));
    }

    /// <summary>Splits <c>org/name@revision</c> into id and revision (null when absent) and validates both.</summary>
    public static (string RepoId, string? Revision) Parse(string idWithRevision)
    {
        ArgumentNullException.ThrowIfNull(idWithRevision);
        int at = idWithRevision.IndexOf('@');
        string id = at < 0 ? idWithRevision : idWithRevision[..at];
        string? revision = at < 0 ? null : idWithRevision[(at + 1)..];
        Validate(id);
        if (revision is not null) ValidateRevision(revision);
        return (id, revision);
    }

    /// <summary>Throws unless <paramref name="revision"/> is a safe git ref name (it becomes a path under
    /// <c>refs/</c>): non-empty, relative, no "." or ".." segment, no backslash, control character or ':'.</summary>
    public static void ValidateRevision(string revision)
    {
        ArgumentNullException.ThrowIfNull(revision);
        if (!IsSafeRelativePath(revision, maxLength: 256))
            throw new ArgumentException($"Revision '{revision}' is invalid: it must be a branch, tag or commit name " +
                "without '..', '.', empty segments, backslashes, ':' or a leading '/'.", nameof(revision));
    }

    /// <summary>Throws unless <paramref name="path"/> is a safe repo-relative file name (forward slashes, no
    /// "..", ".", empty segment, absolute path, backslash, drive letter or control character).
    /// <paramref name="origin"/> names where the name came from, for the message.</summary>
    public static void ValidateFilePath(string path, string origin)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!IsSafeRelativePath(path, maxLength: 1024))
            throw new HubException($"Unsafe file name '{path}' in {origin}: repo file names must be relative, use '/', " +
                "and contain no '..', '.', empty segments, backslashes, drive letters or control characters.");
    }

    private static bool IsSafeRelativePath(string path, int maxLength)
    {
        if (path.Length == 0 || path.Length > maxLength) return false;
        if (path[0] == '/' || path[^1] == '/') return false;
        foreach (char c in path)
            if (c == '\\' || c == ':' || char.IsControl(c)) return false;   // ':' also rules out "C:" drives and ADS
        foreach (var segment in path.Split('/'))
            if (segment.Length == 0 || segment == "." || segment == "..") return false;
        return true;
    }

    /// <summary>Cache folder name of a model repo: <c>models--org--name</c> (huggingface_hub's repo_folder_name).</summary>
    public static string FolderName(string repoId) => "models--" + repoId.Replace("/", "--", StringComparison.Ordinal);
}
