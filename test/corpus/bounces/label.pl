#!/usr/bin/perl
# Labels the second and third corpora with Sisimai 4.25 as Debian ships it (apt-get install
# libsisimai-perl), a dev tool only, from the repository root:
#   perl test/corpus/bounces/label.pl 'synth/*.eml' 'notices/*.eml' > test/corpus/bounces/labels-synth.json
#   perl test/corpus/bounces/label.pl 'flufl/*.txt' > test/corpus/bounces/labels-flufl.json
# (patterns under test/corpus/bounces). A message Sisimai does not read as a bounce is labelled
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
    my $v = Sisimai->make($path, 'delivered' => 1, 'vacation' => 1);
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
            hardbounce => ($_->softbounce == 0 ? JSON::PP::true : JSON::PP::false),
        } } @$v ],
    };
}
print JSON::PP->new->canonical->pretty->encode(\@out);
