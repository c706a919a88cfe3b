using System;
using System.Diagnostics;
using System.Threading;

namespace SharpMM.Cli;

/// <summary>
/// A one-line status on stderr for long work ("bench W0: repetition 3 of 5, 4.2 s"), redrawn in
/// place and erased when done. Shown only when stdout and stderr are both a terminal and the
/// command prints text: piped output and --json stay exactly the report.
/// </summary>
internal sealed class Progress : IDisposable
{
    private readonly bool _shown;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer? _timer;
    private readonly object _lock = new();
    private string _what;
    private int _width;
    private bool _done;

    /// <summary>Starts showing <paramref name="what"/> with the elapsed time, refreshed twice a
    /// second, unless <paramref name="json"/> or the output is not a terminal.</summary>
    public Progress(string what, bool json)
    {
        _what = what;
        _shown = !json && !Console.IsOutputRedirected && !Console.IsErrorRedirected;
        if (_shown) _timer = new Timer(_ => Draw(), null, 0, 500);
    }

    /// <summary>Replaces the text shown.</summary>
    public void Update(string what)
    {
        lock (_lock) _what = what;
        if (_shown) Draw();
    }

    private void Draw()
    {
        lock (_lock)
        {
            if (_done) return;
            string line = $"{_what} ({_clock.Elapsed.TotalSeconds:F1} s)";
            Console.Error.Write("\r" + line.PadRight(_width));
            _width = line.Length;
        }
    }

    /// <summary>Erases the line.</summary>
    public void Dispose()
    {
        if (!_shown) return;
        _timer!.Dispose();
        lock (_lock)
        {
            _done = true;
            Console.Error.Write("\r" + new string(' ', _width) + "\r");
            _width = 0;
        }
    }
}
