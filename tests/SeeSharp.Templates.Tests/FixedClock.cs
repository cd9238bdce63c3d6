namespace SeeSharp.Templates.Tests;

/// <summary>A clock stopped at one instant, in UTC, so that <c>strftime_now</c> renders reproducibly.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
