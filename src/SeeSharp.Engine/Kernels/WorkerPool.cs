namespace SeeSharp.Engine.Kernels;

/// <summary>
/// A fixed set of worker threads that run <see cref="For"/> loops with little overhead per call: the caller
/// takes part, idle workers spin briefly before they sleep, and items are handed out by an atomic counter.
/// A <see cref="For"/> issued from inside a loop body, or while another thread's loop runs, runs inline.
/// </summary>
public sealed class WorkerPool
{
    private static readonly object s_defaultLock = new();
    private static WorkerPool? s_default;

    [ThreadStatic] private static bool t_inside;

    private readonly Thread[] _workers;
    private readonly object _sleepLock = new();
    private readonly object _callLock = new();
    private int _sleepers;
    private int _generation;
    private volatile bool _stop;

    // The running loop.
    private Action<int>? _body;
    private int _count;
    private int _next;
    private int _active;
    private Exception? _error;

    /// <summary>Spin iterations of an idle worker before it sleeps (~tens of microseconds).</summary>
    private const int SpinBeforeSleep = 5_000;

    /// <summary>Creates a pool of <paramref name="threads"/> (the caller counts as one, so threads - 1 workers are started).</summary>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"SeeSharp worker {i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>The shared pool (Environment.ProcessorCount threads unless <see cref="Configure"/> said otherwise).</summary>
    public static WorkerPool Default
    {
        get
        {
            var pool = Volatile.Read(ref s_default);
            if (pool is not null) return pool;
            lock (s_defaultLock)
            {
                return s_default ??= new WorkerPool(Environment.ProcessorCount);
            }
        }
    }

    /// <summary>Replaces the shared pool with one of <paramref name="threads"/> threads.</summary>
    public static void Configure(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        lock (s_defaultLock)
        {
            var old = s_default;
            if (old is not null && old.Threads == threads) return;
            s_default = new WorkerPool(threads);
            old?.Stop();
        }
    }

    /// <summary>Threads that run a loop, the caller included.</summary>
    public int Threads { get; }

    /// <summary>Runs <paramref name="body"/>(i) for every i in [0, count) over the workers and the caller;
    /// returns when all are done. The first exception thrown by a body is rethrown.</summary>
    public void For(int count, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0) return;
        if (count == 1 || _workers.Length == 0 || t_inside || _stop || !Monitor.TryEnter(_callLock))
        {
            RunInline(count, body);
            return;
        }
        try
        {
            _body = body;
            _count = count;
            _next = 0;
            _error = null;
            Volatile.Write(ref _active, _workers.Length);
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) > 0)
            {
                lock (_sleepLock) Monitor.PulseAll(_sleepLock);
            }
            RunItems();
            var spinner = new SpinWait();
            while (Volatile.Read(ref _active) != 0) spinner.SpinOnce(sleep1Threshold: -1);
            _body = null;
            if (_error is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
        }
        finally
        {
            Monitor.Exit(_callLock);
        }
    }

    private static void RunInline(int count, Action<int> body)
    {
        bool was = t_inside;
        t_inside = true;
        try
        {
            for (int i = 0; i < count; i++) body(i);
        }
        finally
        {
            t_inside = was;
        }
    }

    private void RunItems()
    {
        var body = _body!;
        int count = _count;
        t_inside = true;
        try
        {
            while (true)
            {
                int i = Interlocked.Increment(ref _next) - 1;
                if (i >= count) break;
                try
                {
                    body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, e, null);
                    Volatile.Write(ref _next, count);   // stop handing out items
                }
            }
        }
        finally
        {
            t_inside = false;
        }
    }

    private void WorkerLoop()
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && !_stop)
            {
                if (++spins < SpinBeforeSleep)
                {
                    Thread.SpinWait(8);
                    continue;
                }
                lock (_sleepLock)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen && !_stop) Monitor.Wait(_sleepLock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_stop) return;
            seen = Volatile.Read(ref _generation);
            RunItems();
            Interlocked.Decrement(ref _active);
        }
    }

    private void Stop()
    {
        // Take the call lock so that a running loop finishes first.
        lock (_callLock)
        {
            _stop = true;
            lock (_sleepLock) Monitor.PulseAll(_sleepLock);
        }
    }
}
