namespace SeeSharp.Testing;

/// <summary>
/// Every numeric tolerance the tests use, as named data (STYLE.md 7): a loosened bound is a visible diff here.
/// Each component keeps its section in a <c>Tolerances.&lt;Area&gt;.cs</c> file beside this one.
/// </summary>
internal static partial class Tolerances
{
}
