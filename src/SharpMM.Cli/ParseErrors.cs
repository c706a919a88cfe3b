using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Linq;

namespace SharpMM.Cli;

/// <summary>A parse failure as one line: the first error, with a suggestion when an unknown
/// word is close to a command or option of the command it was given to ("boto" -> "boot").</summary>
internal static class ParseErrors
{
    public static string Describe(ParseResult parsed)
    {
        Command command = parsed.CommandResult.Command;
        string where = PathOf(parsed.CommandResult);
        if (parsed.UnmatchedTokens.Count > 0)
        {
            string word = parsed.UnmatchedTokens[0];
            string kind = word.StartsWith('-') ? "option" : command is RootCommand ? "command" : "argument";
            string? near = Nearest(word, Names(command));
            string hint = near != null ? $"did you mean '{near}'?" : $"{where} --help lists them";
            return $"unknown {kind} '{word}' for '{where}' ({hint})";
        }
        if (command is RootCommand && parsed.Tokens.Count == 0)
            return "no command given (sharpmm --help lists them)";
        string first = Program.OneLine(parsed.Errors[0].Message);
        return first.Contains("did you mean", StringComparison.Ordinal) ? first : $"{first} (see {where} --help)";
    }

    // The command as typed, with its parents: "sharpmm trace replay", not "sharpmm replay".
    private static string PathOf(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r != null; r = r.Parent)
            if (r is CommandResult c && c.Command is not RootCommand) names.Insert(0, c.Command.Name);
        names.Insert(0, "sharpmm");
        return string.Join(' ', names);
    }

    private static IEnumerable<string> Names(Command command) =>
        command.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name))
               .Concat(command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)));

    /// <summary>The candidate closest to <paramref name="word"/> in edit distance, if close
    /// enough to be a typo (at most a third of its letters, at least one).</summary>
    public static string? Nearest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string c in candidates)
        {
            int d = Distance(word.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance) { best = c; bestDistance = d; }
        }
        return bestDistance <= Math.Max(1, word.TrimStart('-').Length / 3) ? best : null;
    }

    // Edit distance where swapping two neighbouring letters is one edit, as typing slips are
    // ("boto" -> "boot"): insertions, deletions, substitutions and adjacent transpositions.
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
