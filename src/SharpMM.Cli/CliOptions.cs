using System.CommandLine;
using System.CommandLine.Parsing;

namespace SharpMM.Cli;

/// <summary>
/// Options whose values go through <see cref="CliValues"/>: a bad value becomes a parse error
/// naming the option ("--scale: 'abc' is not a finite number"), reported as one line with exit
/// status 2 before the command runs.
/// </summary>
internal static class CliOptions
{
    /// <summary>A byte count in [min, max]; null when the option is not given.</summary>
    public static Option<ulong?> Size(string name, string description, ulong min, ulong max) => new(name)
    {
        Description = description,
        HelpName = "SIZE",
        CustomParser = r => CliValues.TryParseSize(Token(r), min, max, out ulong v, out string e) ? v : Error<ulong?>(r, name, e),
    };

    /// <summary>A whole number in [min, max], <paramref name="defaultValue"/> when not given.</summary>
    public static Option<ulong> Integer(string name, string description, ulong min, ulong max, ulong defaultValue) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => CliValues.TryParseInteger(Token(r), min, max, out ulong v, out string e) ? v : Error<ulong>(r, name, e),
    };

    /// <summary>A whole number in [min, max]; null when not given (the default depends on other options).</summary>
    public static Option<ulong?> OptionalInteger(string name, string description, ulong min, ulong max) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = r => CliValues.TryParseInteger(Token(r), min, max, out ulong v, out string e) ? v : Error<ulong?>(r, name, e),
    };

    /// <summary>A finite number in [min, max], <paramref name="defaultValue"/> when not given.</summary>
    public static Option<double> Real(string name, string description, double min, double max, double defaultValue) => new(name)
    {
        Description = description,
        HelpName = "X",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => CliValues.TryParseReal(Token(r), min, max, out double v, out string e) ? v : Error<double>(r, name, e),
    };

    /// <summary>One of <paramref name="values"/>; <paramref name="defaultValue"/> when not given
    /// (null: no default, GetValue returns null).</summary>
    public static Option<string> Choice(string name, string description, string? defaultValue, params string[] values)
    {
        var o = new Option<string>(name) { Description = description, HelpName = string.Join('|', values) };
        if (defaultValue != null) o.DefaultValueFactory = _ => defaultValue;
        o.Validators.Add(r => CheckChoice(r, name, values));
        return o;
    }

    /// <summary>A positional argument that must be one of <paramref name="values"/>.</summary>
    public static Argument<string> Choice(string name, string description, params string[] values)
    {
        var a = new Argument<string>(name) { Description = description, HelpName = string.Join('|', values) };
        a.Validators.Add(r => CheckChoice(r, name, values));
        return a;
    }

    private static void CheckChoice(SymbolResult r, string name, string[] values)
    {
        if (r.Tokens.Count == 0) return; // the default
        string v = Token(r);
        if (System.Array.IndexOf(values, v) >= 0) return;
        string? near = ParseErrors.Nearest(v, values);
        r.AddError($"{name}: '{v}' is not one of {string.Join(", ", values)}" + (near != null ? $" (did you mean '{near}'?)" : ""));
    }

    /// <summary>--json: the result as one JSON document on stdout (docs/schemas/).</summary>
    public static Option<bool> Json() => new("--json")
    {
        Description = "Print one JSON document instead of text (schema: docs/schemas/<command>.schema.json); no progress output.",
    };

    // Options here take exactly one token (System.CommandLine's default arity for a non-bool value).
    private static string Token(SymbolResult r) => r.Tokens.Count > 0 ? r.Tokens[0].Value : "";

    private static T Error<T>(ArgumentResult r, string name, string message)
    {
        r.AddError($"{name}: {message}");
        return default!;
    }
}
