using System.Diagnostics;

namespace SeeSharp.Server;

/// <summary>
/// Admits one generation at a time and lets at most <c>maxWaiting</c> more requests wait; past that,
/// <see cref="TryEnter"/> refuses at once (the server answers 429 with a Retry-After estimate).
/// </summary>
internal sealed class GenerationQueue(int maxWaiting)
{
    private readonly SemaphoreSlim _slot = new(1, 1);
    private int _admitted;                // running + waiting
    private long _averageMilliseconds = 1000;

    /// <summary>Requests running or waiting now.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>How long a client should wait before retrying, from the recent average generation time and the queue length.</summary>
    public int RetryAfterSeconds => (int)Math.Clamp((Interlocked.Read(ref _averageMilliseconds) * (long)Math.Max(1, Admitted) + 999) / 1000, 1, 600);

    /// <summary>A place in the queue, or null when it is full. Dispose the ticket to leave the queue.</summary>
    public Ticket? TryEnter()
    {
        while (true)
        {
            int now = Volatile.Read(ref _admitted);
            if (now >= maxWaiting + 1) return null;
            if (Interlocked.CompareExchange(ref _admitted, now + 1, now) == now) return new Ticket(this);
        }
    }

    /// <summary>A request's place: <see cref="WaitTurnAsync"/> waits for the model; disposing releases it.</summary>
    public sealed class Ticket(GenerationQueue queue) : IDisposable
    {
        private bool _running, _disposed;
        private long _started;

        /// <summary>Waits until this request may use the model (or <paramref name="ct"/> is cancelled).</summary>
        public async Task WaitTurnAsync(CancellationToken ct)
        {
            await queue._slot.WaitAsync(ct).ConfigureAwait(false);
            _running = true;
            _started = Stopwatch.GetTimestamp();
        }

        /// <summary>Leaves the queue, freeing the model when this request held it.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_running)
            {
                long ms = (long)Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
                long old = Interlocked.Read(ref queue._averageMilliseconds);
                Interlocked.Exchange(ref queue._averageMilliseconds, (old * 3 + ms) / 4);
                queue._slot.Release();
            }
            Interlocked.Decrement(ref queue._admitted);
        }
    }
}

/// <summary>Counters the server exposes on <c>/health</c> (tests watch cancellation through them).</summary>
public sealed class ServerMetrics
{
    private long _completed, _cancelled, _failed, _rejected, _queueFull;

    /// <summary>Generations that ran to a finish reason.</summary>
    public long Completed => Interlocked.Read(ref _completed);
    /// <summary>Generations stopped because the client went away or the server shut down.</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);
    /// <summary>Generations that failed with a server error.</summary>
    public long Failed => Interlocked.Read(ref _failed);
    /// <summary>Requests answered with a 4xx error (bad input, limits, authentication).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);
    /// <summary>Requests turned away with 429 because the queue was full.</summary>
    public long QueueFull => Interlocked.Read(ref _queueFull);

    internal void OnCompleted() => Interlocked.Increment(ref _completed);
    internal void OnCancelled() => Interlocked.Increment(ref _cancelled);
    internal void OnFailed() => Interlocked.Increment(ref _failed);
    internal void OnRejected() => Interlocked.Increment(ref _rejected);
    internal void OnQueueFull() => Interlocked.Increment(ref _queueFull);
}
