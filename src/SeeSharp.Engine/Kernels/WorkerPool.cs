namespace SeeSharp.Engine.Kernels;

/// <summary>
/// A fixed set of worker threads that run <see cref="For"/> loops with little overhead per call: the caller
/// takes part, idle workers spin briefly before they sleep, and items are claimed one at a time from a shared
/// ticket (generation and next index in one 64-bit word). A call waits only for items that were claimed, never
/// for a worker that has not woken up yet, so a descheduled worker cannot stall a loop on a busy machine.
/// A <see cref="For"/> issued from inside a loop body, or while another thread's loop runs, runs inline.
/// </summary>
public sealed class WorkerPool
{
    private static readonly object s_defaultLock = new();
    private static WorkerPool? s_default;

    [ThreadStatic] private static bool t_inside;

    /// <summary>One loop: its body, size, finished items and first error.</summary>
    private sealed class Job(long generation, int count, Action<int> body)
    {
        public readonly long Generation = generation;
        public readonly int Count = count;
        public readonly Action<int> Body = body;
        public int Done;
        public Exception? Error;
    }

    private readonly Thread[] _workers;
    private readonly object _sleepLock = new();
    private readonly object _callLock = new();
    private int _sleepers;
    private long _ticket;          // (generation << 32) | next item index
    private Job? _job;
    private volatile bool _stop;

    /// <summary>Spin iterations of an idle worker before it sleeps (on the order of a millisecond).</summary>
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
    /// returns when all are done. The first exception thrown by a body is rethrown (the other items still run).</summary>
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
            long generation = (Volatile.Read(ref _ticket) >> 32) + 1;
            var job = new Job(generation, count, body);
            Volatile.Write(ref _job, job);
            Interlocked.Exchange(ref _ticket, generation << 32);   // publish (full fence)
            if (Volatile.Read(ref _sleepers) > 0)
            {
                lock (_sleepLock) Monitor.PulseAll(_sleepLock);
            }
            t_inside = true;
            try
            {
                Work(job);
            }
            finally
            {
                t_inside = false;
            }
            var spinner = new SpinWait();
            while (Volatile.Read(ref job.Done) != count) spinner.SpinOnce(sleep1Threshold: -1);
            if (job.Error is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
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

    /// <summary>Claims and runs items of <paramref name="job"/> until none are left (or a newer loop started).</summary>
    private void Work(Job job)
    {
        while (true)
        {
            long t = Volatile.Read(ref _ticket);
            if (t >> 32 != job.Generation) return;
            int i = (int)(t & 0xFFFF_FFFF);
            if (i >= job.Count) return;
            if (Interlocked.CompareExchange(ref _ticket, t + 1, t) != t) continue;
            try
            {
                job.Body(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref job.Error, e, null);
            }
            Interlocked.Increment(ref job.Done);
        }
    }

    private void WorkerLoop()
    {
        t_inside = true;   // loops started from a body on a worker run inline
        long seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _ticket) >> 32 == seen && !_stop)
            {
                if (++spins < SpinBeforeSleep)
                {
                    Thread.SpinWait(8);
                    continue;
                }
                lock (_sleepLock)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _ticket) >> 32 == seen && !_stop) Monitor.Wait(_sleepLock);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_stop) return;
            seen = Volatile.Read(ref _ticket) >> 32;
            var job = Volatile.Read(ref _job);
            // A job object newer than the ticket we read: its generation is seen on the next pass.
            if (job is not null && job.Generation == seen) Work(job);
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
