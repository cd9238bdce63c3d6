using System.Reflection;

namespace SeeSharp.Tokenizers.Tests;

/// <summary>
/// Public-API snapshot (DESIGN.md): the public surface of SeeSharp.Tokenizers, listed by reflection, must equal
/// PublicApi.txt beside this file. A deliberate API change updates that file in the same commit.
/// </summary>
public class PublicApiTests
{
    internal static string Describe()
    {
        var lines = new List<string>();
        foreach (var t in typeof(Tokenizer).Assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            lines.Add($"type {t.FullName}");
            var members = t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => m is not MethodInfo { IsSpecialName: true })
                .Select(m => m switch
                {
                    MethodInfo mi => $"  {(mi.IsStatic ? "static " : "")}{Name(mi.ReturnType)} {mi.Name}({string.Join(", ", mi.GetParameters().Select(p => Name(p.ParameterType) + " " + p.Name))})",
                    ConstructorInfo ci => $"  ctor({string.Join(", ", ci.GetParameters().Select(p => Name(p.ParameterType) + " " + p.Name))})",
                    PropertyInfo pi => $"  {Name(pi.PropertyType)} {pi.Name} {{ {(pi.GetMethod?.IsPublic == true ? "get; " : "")}{(pi.SetMethod?.IsPublic == true ? "set; " : "")}}}",
                    FieldInfo fi => $"  {(fi.IsLiteral ? "const " : fi.IsStatic ? "static " : "")}{Name(fi.FieldType)} {fi.Name}",
                    _ => $"  {m.MemberType} {m.Name}",
                })
                .OrderBy(s => s, StringComparer.Ordinal);
            lines.AddRange(members);
        }
        return string.Join("\n", lines) + "\n";
    }

    private static string Name(Type t)
    {
        if (Nullable.GetUnderlyingType(t) is { } u) return Name(u) + "?";
        if (!t.IsGenericType) return t.Name;
        return t.Name[..t.Name.IndexOf('`')] + "<" + string.Join(", ", t.GetGenericArguments().Select(Name)) + ">";
    }

    [Fact]
    public void PublicSurface_MatchesSnapshot()
    {
        var path = Path.Combine(SeeSharp.Testing.Fixtures.Root, "..", "SeeSharp.Tokenizers.Tests", "PublicApi.txt");
        var actual = Describe();
        Assert.True(File.Exists(path), $"missing {path}; current surface:\n{actual}");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }
}
