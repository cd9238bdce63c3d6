using System.Text;
using System.Text.RegularExpressions;

namespace SeeSharp.Hub;

/// <summary>fnmatch-style patterns as huggingface_hub's <c>allow_patterns</c> use them: <c>*</c> matches any run of
/// characters including '/', <c>?</c> one character, <c>[abc]</c>/<c>[!abc]</c> a set; a pattern ending in '/'
/// matches everything below that folder. Case-sensitive.</summary>
internal static class Glob
{
    public static Regex ToRegex(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (pattern.EndsWith('/')) pattern += "*";
        var sb = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    int close = pattern.IndexOf(']', i + 2 <= pattern.Length ? i + 2 : i + 1);
                    if (close < 0) { sb.Append(@"\["); break; }
                    string set = pattern[(i + 1)..close];
                    bool negate = set.StartsWith('!');
                    if (negate) set = set[1..];
                    sb.Append('[').Append(negate ? "^" : "").Append(set.Replace(@"\", @"\\").Replace("[", @"\[")).Append(']');
                    i = close;
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant,
            TimeSpan.FromSeconds(1));
    }
}
