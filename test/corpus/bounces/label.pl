#!/usr/bin/perl
# Labels a corpus with Sisimai, a dev tool only, from the repository root:
#   sh test/corpus/bounces/sisimai5.sh 'flufl/*.txt' > test/corpus/bounces/labels-flufl.json
# runs it with Sisimai 5.3.0, the labeller of every corpus but dev/ (whose labels are 5.2's); the
# script fetches Debian's package of it. `perl test/corpus/bounces/label.pl 'flufl/*.txt'` runs it
# with the Sisimai installed (Debian 12's libsisimai-perl is 4.25, the corpora's first labeller).
# Patterns are under test/corpus/bounces. A message Sisimai does not read as a bounce is labelled
# notBounce.
use strict;
use warnings;
use Sisimai;
use JSON::PP;

my $root = 'test/corpus/bounces';
my @files = map { sort(glob("$root/$_")) } @ARGV;
my @out;
for my $path (@files) {
    (my $file = $path) =~ s{^\Q$root\E/}{};
    my $v = facts($path);
    if (!$v || !@$v) { push @out, { file => $file, notBounce => JSON::PP::true }; next; }
    my $i = 0;
    push @out, {
        file => $file,
        sisimai => "" . $Sisimai::VERSION,
        recipients => [ map { {
            index => ++$i,
            recipient => $_->recipient->address,
            status => $_->deliverystatus // '',
            replyCode => '' . ($_->replycode // ''),
            reason => $_->reason,
            hardbounce => (hard($_) ? JSON::PP::true : JSON::PP::false),
        } } @$v ],
    };
}
print JSON::PP->new->canonical->pretty->encode(\@out);

# Sisimai 5 reads a message with Sisimai::Fact->rise, given each message of Sisimai::Mail: what
# Sisimai->rise does, but 5.3.0's rise passes its vacation option on misspelt ('vaction'), so
# auto-replies would be dropped. Sisimai 4 has make().
sub facts {
    my $path = shift;
    return Sisimai->make($path, 'delivered' => 1, 'vacation' => 1) unless Sisimai->can('rise');
    require Sisimai::Mail;
    require Sisimai::Fact;
    my $mail = Sisimai::Mail->new($path) or return undef;
    my @facts;
    while (my $r = $mail->data->read) {
        push @facts, @{ Sisimai::Fact->rise({ 'data' => $r, 'delivered' => 1, 'vacation' => 1 }) || [] };
    }
    return \@facts;
}

sub hard { my $f = shift; return $f->can('hardbounce') ? $f->hardbounce : $f->softbounce == 0 }
